import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/health/report.js';
import { startOllamaDiscoveryUpstream, type OllamaDiscoveryUpstream } from '../../src/loopback/ollama-discovery-upstream.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../../src/loopback/openai-upstream.js';
import { startVllmUpstream, type VllmUpstream } from '../../src/loopback/vllm-upstream.js';
import { deadPort } from '../support/free-port.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const QWEN = 'Qwen/Qwen2.5-0.5B-Instruct';

interface Answer {
  status: number;
  headers: Headers;
  body: { choices?: { message: { content: string } }[]; data?: unknown[]; error?: { code: string; message: string; dlq_id?: string } };
}

/** Probes are driven by the test (`refresh()`), never by the clock. */
const MANUAL = { intervalMs: 3_600_000, timeoutMs: 1_000 };

describe('discovery of local backends', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function stackWith(options: Parameters<typeof startStack>[0]): Promise<Stack> {
    const stack = await startStack(options);
    closers.push(() => stack.close());
    return stack;
  }
  async function vllmServer(options: Parameters<typeof startVllmUpstream>[0] = {}): Promise<VllmUpstream> {
    const server = await startVllmUpstream(options);
    closers.push(() => server.close());
    return server;
  }
  async function ollamaServer(options: Parameters<typeof startOllamaDiscoveryUpstream>[0] = {}): Promise<OllamaDiscoveryUpstream> {
    const server = await startOllamaDiscoveryUpstream(options);
    closers.push(() => server.close());
    return server;
  }
  async function openAIServer(): Promise<OpenAIUpstream> {
    const server = await startOpenAIUpstream({ models: ['test-model'] });
    closers.push(() => server.close());
    return server;
  }

  const health = async (stack: Stack) => {
    const response = await fetch(`${stack.optimizer.url}/health`);
    expect(response.status).toBe(200);
    return (await response.json()) as HealthReport;
  };
  const backend = async (stack: Stack, id: string) => (await health(stack)).backends.find((b) => b.id === id);
  const modelIds = async (stack: Stack) => ((await (await fetch(`${stack.optimizer.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);

  async function post(stack: Stack, path: string, body: Record<string, unknown>): Promise<Answer> {
    const response = await fetch(`${stack.optimizer.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'discovery-test' },
      body: JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
  }
  const chat = (stack: Stack, model: string, content = 'hi') => post(stack, '/v1/chat/completions', { model, messages: [{ role: 'user', content }] });

  it('finds a loopback Ollama and vLLM at start: their models are listed (vLLM’s with max_model_len) and answer', async () => {
    const vllm = await vllmServer();
    const ollama = await ollamaServer();
    const stack = await stackWith({
      upstreams: {},
      config: { discovery: { ...MANUAL, local: [{ provider: 'ollama', baseUrl: ollama.url }, { provider: 'vllm', baseUrl: `${vllm.url}/v1` }] } },
    });

    const models = (await (await fetch(`${stack.optimizer.url}/v1/models`)).json()) as { data: { id: string; owned_by: string; max_model_len?: number }[] };
    expect(models.data.map((m) => m.id).sort()).toEqual(['auto', 'ollama/llama3.2:latest', 'ollama/nomic-embed-text:latest', `vllm/${QWEN}`].sort());
    expect(models.data.find((m) => m.id === `vllm/${QWEN}`)).toMatchObject({ owned_by: 'vllm', max_model_len: 32_768 });
    expect(stack.optimizer.runtime.discovery.contextWindow('vllm', QWEN)).toBe(32_768);
    expect(stack.optimizer.runtime.discovery.contextWindows()).toEqual({ [`vllm/${QWEN}`]: 32_768 });

    const fromVllm = await chat(stack, `vllm/${QWEN}`, 'to vllm');
    expect(fromVllm.status).toBe(200);
    expect(fromVllm.headers.get('x-backend')).toBe('vllm');
    expect(fromVllm.body.choices?.[0]?.message.content).toBe('echo: to vllm');
    expect(vllm.completions).toBe(1);

    const fromOllama = await chat(stack, 'llama3.2:latest', 'to ollama');
    expect(fromOllama.status).toBe(200);
    expect(fromOllama.headers.get('x-backend')).toBe('ollama');
    expect(ollama.inner.requests.at(-1)?.body).toMatchObject({ model: 'llama3.2:latest' });
    const embedded = await post(stack, '/v1/embeddings', { model: 'ollama/nomic-embed-text:latest', input: 'vector' });
    expect(embedded.status).toBe(200);
    expect(embedded.body.data).toHaveLength(1);

    const report = await health(stack);
    expect(report.status).toBe('ok');
    expect(report.ready).toBe(true);
    expect(report.backends.map((b) => [b.id, b.state, b.probe?.state])).toEqual([
      ['ollama', 'serving', 'reachable'],
      ['vllm', 'serving', 'reachable'],
    ]);
    expect(report.backends.find((b) => b.id === 'vllm')).toMatchObject({ contextWindows: { [QWEN]: 32_768 }, concurrency: { limit: 64 } });
    expect(report.discovery?.local).toEqual([
      expect.objectContaining({ provider: 'ollama', url: ollama.url, state: 'found', backend: 'ollama' }),
      expect.objectContaining({ provider: 'vllm', url: vllm.url, state: 'found', backend: 'vllm' }),
    ]);
    expect(stack.logs.some((line) => line.includes('"backend.discovered"') && line.includes(vllm.url))).toBe(true);
  });

  it('adds a server that starts later, drops one that goes away from /v1/models (/health says why), and uses it again when it is back', async () => {
    const port = await deadPort();
    const main = await openAIServer();
    const stack = await stackWith({
      upstreams: {},
      config: {
        backends: [{ id: 'main', provider: 'openai-compatible', baseUrl: main.url, models: ['test-model'] }],
        discovery: { ...MANUAL, local: [{ provider: 'ollama', baseUrl: `http://127.0.0.1:${port}` }] },
      },
    });
    expect(await modelIds(stack)).toEqual(['auto', 'main/test-model']);
    expect((await health(stack)).discovery?.local[0]).toMatchObject({ state: 'absent', reason: 'connection refused' });

    // Ollama starts: the next round makes it a backend actor, and its models routable.
    let ollama = await ollamaServer({ port, models: ['llama3.2:latest'] });
    await stack.optimizer.runtime.discovery.refresh();
    expect(await modelIds(stack)).toContain('ollama/llama3.2:latest');
    await eventually(async () => (await backend(stack, 'ollama'))?.state === 'serving', 3000, 'the ollama actor to serve');
    expect((await chat(stack, 'ollama/llama3.2:latest')).headers.get('x-backend')).toBe('ollama');

    // `ollama pull`: a new model becomes routable after the next round.
    ollama.setModels(['llama3.2:latest', 'qwen2.5-coder:7b']);
    await stack.optimizer.runtime.discovery.refresh();
    expect(await modelIds(stack)).toContain('ollama/qwen2.5-coder:7b');
    const coder = await chat(stack, 'qwen2.5-coder:7b', 'code');
    expect([coder.status, coder.headers.get('x-backend')]).toEqual([200, 'ollama']);

    // It goes away.
    await ollama.close();
    await stack.optimizer.runtime.discovery.refresh();
    expect(await modelIds(stack)).toEqual(['auto', 'main/test-model']);
    const report = await health(stack);
    expect(report.status).toBe('degraded');
    expect(report.ready).toBe(true); // main still serves
    expect(report.backends.find((b) => b.id === 'ollama')).toMatchObject({ state: 'unreachable', probe: { state: 'unreachable', reason: 'connection refused' } });
    expect(report.problems).toContain(`backend ollama is unreachable at http://127.0.0.1:${port} (connection refused)`);
    const refused = await chat(stack, 'ollama/llama3.2:latest', 'while it is gone');
    expect(refused.status).toBe(503);
    expect(refused.body.error?.message).toContain(`backend ollama is unreachable at http://127.0.0.1:${port}`);

    // Back on the same port: used again.
    ollama = await ollamaServer({ port, models: ['llama3.2:latest'] });
    await stack.optimizer.runtime.discovery.refresh();
    expect(await modelIds(stack)).toContain('ollama/llama3.2:latest');
    expect((await backend(stack, 'ollama'))?.state).toBe('serving');
    const again = await chat(stack, 'ollama/llama3.2:latest', 'again');
    expect([again.status, again.headers.get('x-backend')]).toEqual([200, 'ollama']);
  });

  it('with no key set and nothing local: starts, /health says degraded and why, requests get 503 NO_BACKEND_REACHABLE naming what to set', async () => {
    const ollamaPort = await deadPort();
    const vllmPort = await deadPort();
    const stack = await stackWith({
      upstreams: {},
      env: {},
      config: {
        backends: [
          { id: 'groq', provider: 'groq', models: ['llama-3.3-70b-versatile'] },
          { id: 'cerebras', provider: 'cerebras', models: ['gpt-oss-120b'] },
          { id: 'ollama', provider: 'ollama', baseUrl: `http://127.0.0.1:${ollamaPort}/v1`, models: ['llama3.2'] },
        ],
        routing: { aliases: { fast: 'groq/llama-3.3-70b-versatile' }, defaultModel: 'fast' },
        discovery: { ...MANUAL, local: [{ provider: 'vllm', baseUrl: `http://127.0.0.1:${vllmPort}` }] },
      },
    });
    const hint = `set GROQ_API_KEY / CEREBRAS_API_KEY, or start Ollama on 127.0.0.1:${ollamaPort} / vLLM on 127.0.0.1:${vllmPort}`;

    const report = await health(stack);
    expect(report.status).toBe('degraded');
    expect(report.live).toBe(true);
    expect(report.ready).toBe(false);
    expect(report.problems[0]).toBe(`no backend reachable: ${hint}`);
    expect(report.backends.map((b) => [b.id, b.state])).toEqual([
      ['groq', 'disabled'],
      ['cerebras', 'disabled'],
      ['ollama', 'unreachable'],
    ]);
    expect(await modelIds(stack)).toEqual(['auto']);

    for (const [path, body] of [
      ['/v1/chat/completions', { model: 'auto', messages: [{ role: 'user', content: 'x' }] }],
      ['/v1/chat/completions', { model: 'ollama/llama3.2', messages: [{ role: 'user', content: 'x' }] }],
      ['/v1/embeddings', { model: 'ollama/llama3.2', input: 'x' }],
    ] as const) {
      const answer = await post(stack, path, body);
      expect(answer.status).toBe(503);
      expect(answer.body.error?.code).toBe('NO_BACKEND_REACHABLE');
      expect(answer.body.error?.message).toBe(`No backend is reachable: ${hint}.`);
      expect(answer.body.error?.dlq_id).toBeUndefined();
    }
    const startLine = stack.logs.find((line) => line.includes('"backends.none_reachable"'));
    expect(startLine).toContain(`no backend reachable: ${hint}`);
  });

  it('a disabled backend next to a usable one: its own requests get BACKEND_DISABLED naming the variable', async () => {
    const main = await openAIServer();
    const stack = await stackWith({
      upstreams: {},
      config: {
        backends: [
          { id: 'g', provider: 'groq', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'G_API_KEY', models: ['m'] },
          { id: 'main', provider: 'openai-compatible', baseUrl: main.url, models: ['test-model'] },
        ],
      },
    });
    const answer = await chat(stack, 'g/m');
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('BACKEND_DISABLED');
    expect(answer.body.error?.message).toContain('G_API_KEY');
    expect((await chat(stack, 'main/test-model')).status).toBe(200);
    expect(await modelIds(stack)).toEqual(['auto', 'main/test-model']);
  });

  it('never sends a vLLM more calls at once than its maxConcurrency: the rest wait in order and all are answered', async () => {
    const vllm = await vllmServer();
    const stack = await stackWith({
      upstreams: {},
      config: { dedupe: { enabled: false }, discovery: { ...MANUAL, local: [{ provider: 'vllm', baseUrl: vllm.url, maxConcurrency: 3 }] } },
    });
    vllm.hold();
    const answers = Array.from({ length: 10 }, (_, i) => chat(stack, `vllm/${QWEN}`, `parallel ${i}`));
    await eventually(() => vllm.inFlight === 3, 5000, 'three calls at the server');
    await eventually(async () => (await backend(stack, 'vllm'))?.concurrency?.queued === 7, 5000, 'seven calls waiting in the transport');
    expect(vllm.completions).toBe(3);
    vllm.release();
    const done = await Promise.all(answers);
    expect(done.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(done.map((a) => a.body.choices?.[0]?.message.content).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `echo: parallel ${i}`).sort());
    expect(vllm.completions).toBe(10);
    expect(vllm.maxInFlight).toBe(3);
  });

  it('does not use a vLLM whose /health answers 503, and uses it again once healthy; its /metrics show in /health', async () => {
    const vllm = await vllmServer();
    const main = await openAIServer();
    const stack = await stackWith({
      upstreams: {},
      config: {
        backends: [
          { id: 'gpu', provider: 'vllm', baseUrl: `${vllm.url}/v1`, models: [QWEN] },
          { id: 'main', provider: 'openai-compatible', baseUrl: main.url, models: ['test-model'] },
        ],
        routing: { fallbacks: { [`gpu/${QWEN}`]: ['main/test-model'] } },
        discovery: { ...MANUAL, local: [] },
      },
    });
    expect((await chat(stack, `gpu/${QWEN}`)).headers.get('x-backend')).toBe('gpu');
    expect(vllm.completions).toBe(1);

    vllm.setHealthy(false);
    await stack.optimizer.runtime.discovery.refresh();
    const failedOver = await chat(stack, `gpu/${QWEN}`, 'while sick');
    expect([failedOver.status, failedOver.headers.get('x-backend'), failedOver.headers.get('x-route-reason')]).toEqual([200, 'main', 'failover']);
    expect(vllm.completions).toBe(1); // never called while unhealthy
    expect(await modelIds(stack)).not.toContain(`gpu/${QWEN}`);
    const sick = await backend(stack, 'gpu');
    expect(sick).toMatchObject({ state: 'unhealthy', probe: { state: 'unhealthy', reason: expect.stringContaining('503') } });

    vllm.setHealthy(true);
    vllm.setMetrics({ running: 5, waiting: 2, kvCacheUsage: 0.42 });
    await stack.optimizer.runtime.discovery.refresh();
    const healthy = await chat(stack, `gpu/${QWEN}`, 'healthy again');
    expect([healthy.status, healthy.headers.get('x-backend')]).toEqual([200, 'gpu']);
    expect(vllm.completions).toBe(2);
    const recovered = await backend(stack, 'gpu');
    expect(recovered).toMatchObject({ state: 'serving', probe: { state: 'reachable', metrics: { requestsRunning: 5, requestsWaiting: 2, kvCacheUsage: 0.42 } } });
    expect(await modelIds(stack)).toContain(`gpu/${QWEN}`);
  });

  it('probes and calls a vLLM started with --api-key with VLLM_API_KEY; without it the probe says what to set', async () => {
    const vllm = await vllmServer({ apiKey: 'vllm-secret-key' });
    const withKey = await stackWith({
      upstreams: {},
      env: { VLLM_API_KEY: 'vllm-secret-key' },
      config: { discovery: { ...MANUAL, local: [{ provider: 'vllm', baseUrl: vllm.url }] } },
    });
    const answer = await chat(withKey, `vllm/${QWEN}`);
    expect([answer.status, answer.headers.get('x-backend')]).toEqual([200, 'vllm']);
    expect(vllm.inner.requests.at(-1)?.headers.authorization).toBe('Bearer vllm-secret-key');
    expect(withKey.logs.join('\n')).not.toContain('vllm-secret-key');

    const withoutKey = await stackWith({ upstreams: {}, env: {}, config: { discovery: { ...MANUAL, local: [{ provider: 'vllm', baseUrl: vllm.url }] } } });
    expect((await health(withoutKey)).discovery?.local[0]).toMatchObject({ state: 'unhealthy', reason: expect.stringContaining('VLLM_API_KEY') });
  });

  it('cloudFromEnv: a preset whose key env var is set becomes a backend with its default models (no upstream call)', async () => {
    const on = await stackWith({ upstreams: {}, env: { GROQ_API_KEY: 'gsk_test_0123456789' }, config: { discovery: { ...MANUAL, local: [], cloudFromEnv: true } } });
    expect((await health(on)).backends.map((b) => [b.id, b.state])).toEqual([['groq', 'serving']]);
    expect(await modelIds(on)).toContain('groq/llama-3.3-70b-versatile');

    const off = await stackWith({ upstreams: {}, env: { GROQ_API_KEY: 'gsk_test_0123456789' }, config: { discovery: { ...MANUAL, local: [] } } });
    expect((await health(off)).backends).toEqual([]);
  });

  it('probes on its own every intervalMs, and an operator can run a round now with POST /admin/discovery/refresh', async () => {
    const port = await deadPort();
    const stack = await stackWith({ upstreams: {}, config: { discovery: { intervalMs: 50, timeoutMs: 50, local: [{ provider: 'vllm', baseUrl: `http://127.0.0.1:${port}` }] } } });
    const vllm = await vllmServer({ port });
    // Found by a scheduled round, with no refresh() from the test.
    await eventually(async () => (await modelIds(stack)).includes(`vllm/${QWEN}`), 5000, 'a scheduled round to find vLLM');
    await eventually(() => vllm.probes >= 4, 5000, 'later rounds to probe it again');

    const manual = await stackWith({ upstreams: {}, config: { discovery: { ...MANUAL, local: [{ provider: 'vllm', baseUrl: vllm.url }] } } });
    vllm.setHealthy(false);
    const before = await (await fetch(`${manual.optimizer.url}/admin/discovery`)).json();
    expect(before).toMatchObject({ intervalMs: MANUAL.intervalMs, local: [{ state: 'found', backend: 'vllm' }], backends: [{ backend: 'vllm', state: 'reachable' }] });
    const refreshed = await fetch(`${manual.optimizer.url}/admin/discovery/refresh`, { method: 'POST' });
    expect(refreshed.status).toBe(200);
    expect(await refreshed.json()).toMatchObject({ backends: [{ backend: 'vllm', state: 'unhealthy', reason: expect.stringContaining('503') }] });
    expect((await backend(manual, 'vllm'))?.state).toBe('unhealthy');
  });
});
