import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from '../support/stack.js';
import { TestWsClient } from '../support/ws-client.js';

/**
 * `model: "auto"` through the real optimizer and real loopback upstreams: each request is
 * classified and sent to the backend its task prefers, the answer says where and why
 * (`x-backend`, `x-route-reason`), and a backend whose breaker opened is avoided.
 */
describe('task-aware routing of model auto', () => {
  let stack: Stack;
  let n = 0;

  beforeAll(async () => {
    stack = await startStack({
      upstreams: {
        fast: { models: ['small-model'] },
        coder: { models: ['code-model'] },
        thinker: { models: ['think-model'] },
        longctx: { models: ['long-model'] },
        embedder: { models: ['nomic-embed-text'] },
      },
      config: {
        routing: {
          // Embeddings keep the default list (nomic-embed-text).
          tasks: { general: ['fast/small-model'], code: ['coder/code-model'], reasoning: ['thinker/think-model'], long: ['longctx/long-model'] },
        },
        catalog: {
          'small-model': { contextWindow: 8192 },
          'code-model': { contextWindow: 8192, tasks: ['code'] },
          'think-model': { contextWindow: 8192, tasks: ['reasoning'] },
          'long-model': { contextWindow: 1_000_000, tasks: ['long', 'general'] },
        },
        resilience: {
          retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
          // One counted failure opens a breaker, which stays open for the rest of the file.
          breaker: { failureThreshold: 1, cooldownMs: 120_000, maxCooldownMs: 120_000 },
        },
      },
    });
  });
  afterAll(() => stack.close());

  /** POSTs a chat completion with model auto; every prompt is unique (no cache, no dedupe join). */
  async function ask(content: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
    const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'router-test', ...headers },
      body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: `${content}\n(#${++n})` }], ...extra }),
    });
    const body = (await response.json()) as { choices?: { message: { content: string } }[]; error?: { code: string; param?: string } };
    return { status: response.status, backend: response.headers.get('x-backend'), reason: response.headers.get('x-route-reason'), model: response.headers.get('x-model'), body };
  }

  const CODE = 'Why does this not compile?\n```ts\nconst total: number = "12";\n```';
  const REASONING = 'Prove step by step that the sum of two even numbers is even.';

  it('sends a code prompt to the code backend', async () => {
    const answer = await ask(CODE);
    expect(answer).toMatchObject({ status: 200, backend: 'coder', reason: 'task:code', model: 'coder/code-model' });
    expect(answer.body.choices?.[0]?.message.content).toContain('echo: Why does this not compile?');
    // The upstream was asked for its own model id.
    expect(stack.upstreams.coder!.requests.at(-1)?.body).toMatchObject({ model: 'code-model' });
  });

  it('sends a reasoning prompt to the reasoning backend', async () => {
    expect(await ask(REASONING)).toMatchObject({ status: 200, backend: 'thinker', reason: 'task:reasoning' });
  });

  it('sends a long prompt to the long-context backend (the others’ windows are too small)', async () => {
    const long = `Summarise this log:\n${'line of a very long log file\n'.repeat(1500)}`; // ≈ 11K tokens
    expect(await ask(long)).toMatchObject({ status: 200, backend: 'longctx', reason: 'task:long' });
  });

  it('sends everything else to the general backend, and streams say the same', async () => {
    expect(await ask('Hello! How are you today?')).toMatchObject({ status: 200, backend: 'fast', reason: 'task:general' });
    const streamed = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'router-test' },
      body: JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: `${CODE} (streamed)` }] }),
    });
    expect(streamed.headers.get('x-backend')).toBe('coder');
    expect(streamed.headers.get('x-route-reason')).toBe('task:code');
    expect(await streamed.text()).toContain('data: [DONE]');
  });

  it('x-task-type overrides the content; an unknown one is a 400 naming the header', async () => {
    expect(await ask(CODE, { 'x-task-type': 'reasoning' })).toMatchObject({ status: 200, backend: 'thinker', reason: 'task:reasoning' });
    expect(await ask(REASONING, { 'x-task-type': 'general' })).toMatchObject({ status: 200, backend: 'fast', reason: 'task:general' });
    const bad = await ask(CODE, { 'x-task-type': 'poetry' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_REQUEST', param: 'x-task-type' });
  });

  it('the agent’s type routes a request without cues', async () => {
    expect(await ask('Please look at the failing build.', { 'x-agent-type': 'coder' })).toMatchObject({ backend: 'coder', reason: 'task:code' });
  });

  it('explicit models and aliases keep their static routes', async () => {
    const answer = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'router-test' },
      body: JSON.stringify({ model: 'thinker/think-model', messages: [{ role: 'user', content: `${CODE} explicit` }] }),
    });
    expect(answer.headers.get('x-backend')).toBe('thinker');
    expect(answer.headers.get('x-route-reason')).toBe('explicit');
  });

  it('routes auto embeddings to the embedding model (the default embeddings list)', async () => {
    const response = await fetch(`${stack.optimizer.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'router-test' },
      body: JSON.stringify({ model: 'auto', input: 'vector me', encoding_format: 'float' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-backend')).toBe('embedder');
    expect(response.headers.get('x-route-reason')).toBe('task:embeddings');
  });

  it('over WebSocket: the agent type from hello, hints.taskType, and meta naming backend and reason', async () => {
    const client = await TestWsClient.connect(stack.optimizer.url);
    await client.hello('ws-router', { agentType: 'planner' });
    const send = (id: string, content: string, hints?: Record<string, unknown>) =>
      client.send({ type: 'request', id, endpoint: 'chat.completions', params: { model: 'auto', messages: [{ role: 'user', content: `${content} ${id}` }] }, ...(hints ? { hints } : {}) });
    send('plain', 'Good morning');
    send('code', CODE);
    send('hinted', 'Good evening', { taskType: 'code' });
    send('bad', 'Good night', { taskType: 'nope' });
    const [plain, code, hinted, bad] = await Promise.all(['plain', 'code', 'hinted', 'bad'].map((id) => client.next((f) => f.id === id && (f.type === 'response' || f.type === 'error'))));
    // A planner's requests are reasoning unless a hint says otherwise (the agent type beats content).
    expect(plain).toMatchObject({ type: 'response', status: 200, meta: { backend: 'thinker', routeReason: 'task:reasoning' } });
    expect(code).toMatchObject({ type: 'response', meta: { backend: 'thinker', routeReason: 'task:reasoning' } });
    expect(hinted).toMatchObject({ type: 'response', meta: { backend: 'coder', routeReason: 'task:code', model: 'coder/code-model' } });
    expect(bad).toMatchObject({ type: 'error', error: { code: 'INVALID_REQUEST' } });
    client.close();
  });

  // Last: it leaves the coder's breaker open.
  it('avoids a backend whose breaker is open, and fails over to the next best while it opens', async () => {
    const coder = stack.upstreams.coder!;
    coder.setDefault({ kind: 'status', status: 503 });
    const callsBefore = coder.calls;
    // The code backend fails: its breaker opens, and the request fails over to the next candidate.
    const first = await ask(CODE);
    expect(first.status).toBe(200);
    expect(first.backend).not.toBe('coder');
    expect(first.reason).toBe('failover');
    expect(coder.calls).toBe(callsBefore + 1);
    await eventually(async () => {
      const health = (await (await fetch(`${stack.optimizer.url}/health`)).json()) as { backends: { id: string; breaker?: { state: string } }[] };
      return health.backends.find((b) => b.id === 'coder')?.breaker?.state === 'open';
    }, 3000, "coder's breaker to open");

    // From now on the router itself ranks the code backend last: no call reaches it.
    for (const prompt of [CODE, 'Refactor this Python function:\n```py\ndef f(x): return x*2\n```']) {
      const answer = await ask(prompt);
      expect(answer).toMatchObject({ status: 200, reason: 'task:code' });
      expect(answer.backend).not.toBe('coder');
    }
    // Over WebSocket too.
    const client = await TestWsClient.connect(stack.optimizer.url);
    await client.hello('ws-router-2');
    client.send({ type: 'request', id: 'w1', params: { model: 'auto', messages: [{ role: 'user', content: `${CODE} over ws` }] } });
    const response = await client.next((f) => f.id === 'w1');
    expect(response).toMatchObject({ type: 'response', status: 200, meta: { routeReason: 'task:code' } });
    expect((response.meta as { backend: string }).backend).not.toBe('coder');
    client.close();
    expect(coder.calls).toBe(callsBefore + 1);
  });
});
