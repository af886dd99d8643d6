import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { probeServer } from '../../src/discovery/probe.js';
import { startOllamaDiscoveryUpstream } from '../../src/loopback/ollama-discovery-upstream.js';
import { startVllmUpstream } from '../../src/loopback/vllm-upstream.js';
import { deadPort } from '../support/free-port.js';

describe('probeServer (against loopback servers)', () => {
  const dispatcher = new Agent({ connections: 2 });
  const options = { timeoutMs: 500, dispatcher };
  afterAll(() => dispatcher.close());

  it('vLLM: healthy → its models with max_model_len and its /metrics gauges', async () => {
    const vllm = await startVllmUpstream({ models: [{ id: 'a', maxModelLen: 4096 }, { id: 'b', maxModelLen: 131_072 }] });
    try {
      vllm.setMetrics({ running: 1, waiting: 0, kvCacheUsage: 0.5 });
      expect(await probeServer('vllm', vllm.url, options)).toEqual({
        state: 'reachable',
        models: [{ id: 'a', maxModelLen: 4096 }, { id: 'b', maxModelLen: 131_072 }],
        metrics: { requestsRunning: 1, requestsWaiting: 0, kvCacheUsage: 0.5 },
      });
      vllm.setHealthy(false);
      expect(await probeServer('vllm', vllm.url, options)).toEqual({ state: 'unhealthy', reason: 'its /health answers 503 (the engine is dead or still loading)' });
    } finally {
      await vllm.close();
    }
  });

  it('vLLM with --api-key: the key is sent; without it the probe names what to set', async () => {
    const vllm = await startVllmUpstream({ apiKey: 'k-123' });
    try {
      expect(await probeServer('vllm', vllm.url, { ...options, apiKey: 'k-123' })).toMatchObject({ state: 'reachable' });
      const refused = await probeServer('vllm', vllm.url, options);
      expect(refused).toMatchObject({ state: 'unhealthy', reason: expect.stringContaining('VLLM_API_KEY') });
    } finally {
      await vllm.close();
    }
  });

  it('Ollama: its /api/tags model names', async () => {
    const ollama = await startOllamaDiscoveryUpstream({ models: ['llama3.2:latest', 'nomic-embed-text:latest'] });
    try {
      expect(await probeServer('ollama', ollama.url, options)).toEqual({ state: 'reachable', models: [{ id: 'llama3.2:latest' }, { id: 'nomic-embed-text:latest' }] });
      expect(ollama.probes).toBe(1);
    } finally {
      await ollama.close();
    }
  });

  it('LM Studio (and Ollama without /api/tags): GET /v1/models', async () => {
    const vllm = await startVllmUpstream({ models: [{ id: 'local-model', maxModelLen: 8192 }] });
    try {
      expect(await probeServer('lmstudio', vllm.url, options)).toEqual({ state: 'reachable', models: [{ id: 'local-model', maxModelLen: 8192 }] });
      expect(await probeServer('ollama', vllm.url, options)).toEqual({ state: 'reachable', models: [{ id: 'local-model', maxModelLen: 8192 }] });
    } finally {
      await vllm.close();
    }
  });

  it('nothing listening → unreachable, connection refused', async () => {
    expect(await probeServer('ollama', `http://127.0.0.1:${await deadPort()}`, options)).toEqual({ state: 'unreachable', reason: 'connection refused' });
  });

  it('a server that never answers → unreachable within the timeout, no retry', async () => {
    let requests = 0;
    const sockets = new Set<Socket>();
    const server: Server = createServer(() => requests++);
    server.on('connection', (s: Socket) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await probeServer('vllm', url, { ...options, timeoutMs: 100 })).toEqual({ state: 'unreachable', reason: 'no answer within 100 ms' });
      expect(requests).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('an answer that is not a model list → unhealthy, saying so', async () => {
    const server = createServer((_req, res) => res.end('<html>hello</html>'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await probeServer('ollama', url, options)).toEqual({ state: 'unhealthy', reason: 'its /api/tags answer is not a model list' });
      expect(await probeServer('lmstudio', url, options)).toEqual({ state: 'unhealthy', reason: 'its /v1/models answer is not a model list' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
