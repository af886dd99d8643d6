import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../../src/loopback/openai-upstream.js';
import { runOptimizer } from '../support/process.js';
import { TestWsClient } from '../support/ws-client.js';

describe('the optimizer as a process', () => {
  let upstream: OpenAIUpstream;
  let dir: string;

  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    dir = mkdtempSync(join(tmpdir(), 'optimizer-process-'));
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const writeConfig = (name: string, config: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(config));
    return file;
  };
  const backend = () => ({ id: 'up', provider: 'openai-compatible', baseUrl: upstream.url, models: ['test-model'] });

  it('drains on SIGTERM: in-flight requests finish, WebSocket sessions get 1001, exit code 0', async () => {
    const config = writeConfig('ok.json', { server: { port: 8080, shutdownGraceMs: 5000 }, backends: [backend()] });
    // OPTIMIZER_CONFIG names the file; --port beats the file's port; --data-dir the store.
    const proc = runOptimizer(['--port', '0', '--data-dir', join(dir, 'data-ok')], { OPTIMIZER_CONFIG: config });
    const port = await proc.listening;
    expect(port).not.toBe(8080);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/health`)).status).toBe(200);

    const ws = await TestWsClient.connect(base);
    await ws.hello('draining-agent');
    upstream.script([{ kind: 'slow', delayMs: 400 }]);
    const slow = fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'up/test-model', messages: [{ role: 'user', content: 'finish me' }] }),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    proc.child.kill('SIGTERM');
    const response = await slow;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('echo: finish me');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(ws.closeCode).toBe(1001);
    expect(proc.stdout.some((l) => l.includes('"server.stopped"'))).toBe(true);
  });

  it('refuses an invalid config with one message listing every problem, exit code 2', async () => {
    const config = writeConfig('bad.json', {
      server: { port: 'eighty' },
      backends: [{ id: 'Bad Id', provider: 'nonesuch', models: [] }],
      limits: { global: { requestsPerMinute: -5 } },
      surprise: true,
    });
    const proc = runOptimizer(['--config', config, '--data-dir', join(dir, 'data-bad')]);
    const { code } = await proc.exited;
    expect(code).toBe(2);
    const message = proc.stderr.join('');
    expect(message).toContain(config);
    for (const path of ['/server/port', '/backends/0/id', '/backends/0/provider', '/limits/global/requestsPerMinute', 'surprise']) {
      expect(message).toContain(path);
    }
  });

  it('refuses a store path it cannot write, naming the path, exit code 2', async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where the store directory should be');
    const config = writeConfig('store.json', { backends: [backend()], server: { port: 0 } });
    const proc = runOptimizer(['--config', config, '--data-dir', join(blocker, 'store')]);
    const { code } = await proc.exited;
    expect(code).toBe(2);
    expect(proc.stderr.join('')).toContain(join(blocker, 'store'));
  });

  it('exits non-zero when the root supervisor gives up', async () => {
    const config = writeConfig('fragile.json', {
      server: { port: 0 },
      backends: [backend()],
      admin: { allowFaultInjection: true },
      supervision: { intensity: 1, periodMs: 60_000, backoff: { initialMs: 10, maxMs: 10 } },
    });
    const proc = runOptimizer(['--config', config, '--data-dir', join(dir, 'data-fragile')]);
    const base = `http://127.0.0.1:${await proc.listening}`;
    // The router crashing twice in a minute is more than intensity 1 allows at the root.
    expect((await fetch(`${base}/admin/actors/router/crash`, { method: 'POST' })).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fetch(`${base}/admin/actors/router/crash`, { method: 'POST' }).catch(() => undefined);
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.stdout.some((l) => l.includes('the supervision tree gave up'))).toBe(true);
  });

  it('dead-letters what is still in flight when the shutdown grace runs out; the entry is there after a restart', async () => {
    const dataDir = join(dir, 'data-cut');
    const config = writeConfig('cut.json', { server: { port: 0, shutdownGraceMs: 300 }, backends: [backend()] });
    const proc = runOptimizer(['--config', config, '--data-dir', dataDir]);
    const base = `http://127.0.0.1:${await proc.listening}`;
    upstream.script([{ kind: 'hang' }]);
    const calls = upstream.calls;
    const cut = fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'patient' },
      body: JSON.stringify({ model: 'up/test-model', messages: [{ role: 'user', content: 'never answered' }] }),
    }).catch(() => undefined);
    while (upstream.calls === calls) await new Promise((resolve) => setTimeout(resolve, 10));
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    await cut;

    const again = runOptimizer(['--config', config, '--data-dir', dataDir]);
    try {
      const page = (await (await fetch(`http://127.0.0.1:${await again.listening}/admin/dlq`)).json()) as {
        entries: { agentId: string; reason: string; body: { messages: { content: string }[] } }[];
      };
      expect(page.entries).toHaveLength(1);
      expect(page.entries[0]).toMatchObject({ agentId: 'patient', reason: expect.stringContaining('shut down') });
      expect(page.entries[0]!.body.messages[0]!.content).toBe('never answered');
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });
  it('dead-letters a request still waiting for a rate limit when the shutdown grace runs out', async () => {
    const dataDir = join(dir, 'data-queued');
    const config = writeConfig('queued.json', {
      server: { port: 0, shutdownGraceMs: 300 },
      limits: { perAgent: { requestsPerMinute: 1 }, maxQueueWaitMs: 60_000 },
      backends: [backend()],
    });
    const proc = runOptimizer(['--config', config, '--data-dir', dataDir]);
    const base = `http://127.0.0.1:${await proc.listening}`;
    const ask = (content: string) =>
      fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-agent-id': 'eager' },
        body: JSON.stringify({ model: 'up/test-model', messages: [{ role: 'user', content }] }),
      });
    expect((await ask('first, admitted')).status).toBe(200);
    const queued = ask('second, queued').catch(() => undefined);
    // Wait until the limiter holds it (the health report counts it in flight).
    for (;;) {
      const health = (await (await fetch(`${base}/health`)).json()) as { inFlight?: number };
      if ((health.inFlight ?? 0) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    await queued;

    const again = runOptimizer(['--config', config, '--data-dir', dataDir]);
    try {
      const page = (await (await fetch(`http://127.0.0.1:${await again.listening}/admin/dlq`)).json()) as {
        entries: { agentId: string; reason: string; attempts: unknown[]; body: { messages: { content: string }[] } }[];
      };
      expect(page.entries).toHaveLength(1);
      expect(page.entries[0]).toMatchObject({ agentId: 'eager', reason: expect.stringContaining('rate limit'), attempts: [] });
      expect(page.entries[0]!.body.messages[0]!.content).toBe('second, queued');
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });
});
