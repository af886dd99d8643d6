import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from '../support/stack.js';
import { TestWsClient, type Frame } from '../support/ws-client.js';

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'main/test-model', messages: [{ role: 'user', content }], ...extra });

describe('WebSocket sessions on /v1/ws', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ upstreams: { main: { models: ['test-model', 'embed-model'] } }, config: { resilience: { retry: { maxAttempts: 1 } } } });
  });
  afterAll(() => stack.close());

  it('says hello, then answers many requests in flight at once, each by its id', async () => {
    const client = await TestWsClient.connect(stack.optimizer.url);
    const welcome = await client.hello('ws-agent');
    expect(welcome).toMatchObject({ type: 'welcome', agentId: 'ws-agent', protocol: 1 });

    stack.upstreams.main!.script([{ kind: 'slow', delayMs: 150 }]); // the first answers last
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const id of ids) client.send({ type: 'request', id, endpoint: 'chat.completions', params: chat(`message ${id}`) });
    const responses = await Promise.all(ids.map((id) => client.next((f) => f.id === id && f.type === 'response')));
    for (const [i, response] of responses.entries()) {
      expect(response).toMatchObject({ type: 'response', id: ids[i], status: 200, meta: { backend: 'main', model: 'main/test-model' } });
      expect((response.data as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(`echo: message ${ids[i]}`);
    }
    // Answered by id, not in order: the slow first one came last.
    const order = client.frames.filter((f) => f.type === 'response').map((f) => f.id);
    expect(order.at(-1)).toBe('a');
    client.close();
  });

  it('streams a request as chunk frames then done', async () => {
    const client = await TestWsClient.connect(stack.optimizer.url);
    await client.hello('ws-streamer');
    client.send({ type: 'request', id: 's1', params: chat('streamed words', { stream: true }) });
    await client.next((f) => f.id === 's1' && f.type === 'done');
    const frames = client.framesFor('s1');
    const chunks = frames.filter((f) => f.type === 'chunk');
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks[0]!.meta).toMatchObject({ backend: 'main' });
    const text = chunks.map((f) => (f.data as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('echo: streamed words');
    expect(frames.at(-1)!.type).toBe('done');
    client.close();
  });

  it('speaks msgpack binary frames and answers in kind', async () => {
    const client = await TestWsClient.connect(stack.optimizer.url);
    client.sendBinary({ type: 'hello', agentId: 'packer' });
    await client.next((f) => f.type === 'welcome');
    client.sendBinary({ type: 'request', id: 'm1', endpoint: 'embeddings', params: { model: 'main/embed-model', input: 'vector me' } });
    const response = await client.next((f) => f.id === 'm1');
    expect(response.type).toBe('response');
    expect((response.data as { data: { embedding: number[] }[] }).data[0]!.embedding).toHaveLength(8);
    client.sendBinary({ type: 'ping', ts: 42 });
    expect(await client.next((f) => f.type === 'pong')).toMatchObject({ ts: 42 });
    client.close();
  });

  it('cancel aborts the upstream call and answers the id with CANCELLED', async () => {
    const upstream = stack.upstreams.main!;
    const client = await TestWsClient.connect(stack.optimizer.url);
    await client.hello('canceller');
    const before = upstream.calls;
    upstream.script([{ kind: 'hang' }]);
    client.send({ type: 'request', id: 'h1', params: chat('never answered') });
    await eventually(() => upstream.calls > before, 2000, 'the upstream call');
    const abandonedBefore = upstream.abandoned;
    client.send({ type: 'cancel', id: 'h1' });
    const answer = await client.next((f) => f.id === 'h1');
    expect(answer).toMatchObject({ type: 'error', error: { code: 'CANCELLED' } });
    // The optimizer tore down the upstream request (undici aborts it, closing its socket).
    await eventually(() => upstream.abandoned === abandonedBefore + 1, 2000, 'the upstream request to be abandoned');
    // And the session still works.
    client.send({ type: 'request', id: 'h2', params: chat('after cancel') });
    expect(await client.next((f) => f.id === 'h2')).toMatchObject({ type: 'response' });
    client.close();
  });

  it('answers bad frames with error frames and keeps the session', async () => {
    const client = await TestWsClient.connect(stack.optimizer.url);
    client.send({ type: 'request', id: 'early', params: chat('x') });
    expect(await client.next((f) => f.type === 'error' && f.id === 'early')).toMatchObject({ error: { code: 'NOT_WELCOMED' } });
    await client.hello('bad-framer');
    const errors = () => client.frames.filter((f): f is Frame & { error: { code: string } } => f.type === 'error');

    client.sendRaw('{not json');
    client.sendRaw(Buffer.from([0xc1, 0xff, 0x00])); // not msgpack
    client.send({ type: 'teleport' });
    client.send({ type: 'request', params: chat('no id') });
    client.send({ type: 'request', id: 'bad-body', params: { messages: 'nope' } });
    client.send({ type: 'cancel', id: 'nothing-in-flight' });
    await eventually(() => errors().length >= 7, 2000, 'six error frames');
    expect(errors().slice(1).map((f) => f.error.code)).toEqual([
      'INVALID_FRAME',
      'INVALID_FRAME',
      'INVALID_FRAME',
      'INVALID_FRAME',
      'INVALID_REQUEST',
      'UNKNOWN_REQUEST_ID',
    ]);
    expect(client.frames.find((f) => f.id === 'bad-body')).toMatchObject({ type: 'error', error: { code: 'INVALID_REQUEST' } });

    // A request id reused while the first is in flight.
    stack.upstreams.main!.script([{ kind: 'slow', delayMs: 200 }]);
    client.send({ type: 'request', id: 'dup', params: chat('first') });
    client.send({ type: 'request', id: 'dup', params: chat('second') });
    const refused = await client.next((f) => f.type === 'error' && (f.error as { code: string }).code === 'DUPLICATE_REQUEST_ID');
    expect(refused.id).toBeUndefined(); // the id still belongs to the first request
    expect(refused).toMatchObject({ error: { param: 'id', message: expect.stringContaining("'dup'") } });
    const first = await client.next((f) => f.id === 'dup' && f.type === 'response');
    expect((first.data as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('echo: first');
    client.close();
  });

  it('a failing upstream gets an error frame with the code; other sessions are unaffected', async () => {
    const a = await TestWsClient.connect(stack.optimizer.url);
    const b = await TestWsClient.connect(stack.optimizer.url);
    await a.hello('agent-a');
    await b.hello('agent-b');
    stack.upstreams.main!.script([{ kind: 'status', status: 429, retryAfterSeconds: 3 }]);
    a.send({ type: 'request', id: 'x', params: chat('limited') });
    const limited = await a.next((f) => f.id === 'x');
    expect(limited).toMatchObject({ type: 'error', error: { code: 'ALL_BACKENDS_FAILED', retryAfterMs: 3000, status: 503 } });
    expect((limited.error as { dlqId?: string }).dlqId).toMatch(/^dlq_/);
    b.send({ type: 'request', id: 'y', params: chat('fine') });
    expect(await b.next((f) => f.id === 'y')).toMatchObject({ type: 'response' });
    a.close();
    b.close();
  });

  it('a session actor exists per agent while connected', async () => {
    const client = await TestWsClient.connect(stack.optimizer.url);
    await client.hello('tracked-agent');
    const session = stack.optimizer.runtime.root!.system.get('session:tracked-agent');
    expect(session?.getSnapshot().context).toMatchObject({ agentId: 'tracked-agent', connections: 1 });
    client.close();
    await eventually(() => session?.getSnapshot().context.connections === 0, 2000, 'the session to see the close');
  });
});

describe('WebSocket keep-alive', () => {
  it('pings every pingIntervalMs and drops a peer that stops answering pongs', async () => {
    const stack = await startStack({ config: { sessions: { pingIntervalMs: 50 } } });
    try {
      const { WebSocket } = await import('ws');
      const url = `${stack.optimizer.url.replace('http', 'ws')}/v1/ws`;
      const healthy = new WebSocket(url);
      const silent = new WebSocket(url, { autoPong: false });
      let pings = 0;
      healthy.on('ping', () => pings++);
      const silentClosed = new Promise<void>((resolve) => silent.on('close', () => resolve()));
      await silentClosed;
      expect(pings).toBeGreaterThanOrEqual(1);
      expect(healthy.readyState).toBe(WebSocket.OPEN);
      healthy.close();
    } finally {
      await stack.close();
    }
  });
});
