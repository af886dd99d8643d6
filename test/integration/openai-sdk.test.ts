import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

const UPSTREAM_KEY = 'sk-upstream-secret-0123456789abcdef';

describe('OpenAI-compatible HTTP API, driven by the official openai client', () => {
  let stack: Stack;
  let client: OpenAI;

  beforeAll(async () => {
    stack = await startStack({
      upstreams: {
        main: { models: ['test-model', 'embed-model'], apiKey: UPSTREAM_KEY, apiKeyEnv: 'MAIN_KEY' },
        spare: { models: ['test-model', 'other-model'] },
      },
      env: { MAIN_KEY: UPSTREAM_KEY },
      config: {
        routing: { aliases: { fast: 'spare/other-model' }, defaultModel: 'main/test-model' },
        server: { port: 0, maxBodyBytes: 64 * 1024 },
        // One attempt: these tests look at how each upstream failure reaches the client.
        resilience: { retry: { maxAttempts: 1 } },
      },
    });
    client = new OpenAI({ baseURL: `${stack.optimizer.url}/v1`, apiKey: 'unused', maxRetries: 0, defaultHeaders: { 'x-agent-id': 'sdk-test' } });
  });
  afterAll(() => stack.close());

  it('answers a chat completion from the upstream, with the optimizer headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'main/test-model', messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hello there');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-backend')).toBe('main');
    expect(response.headers.get('x-route-reason')).toBe('explicit');
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(response.headers.get('x-cache')).toBe('bypass');
    // The upstream got the provider's model id and our key for it.
    const seen = stack.upstreams.main!.requests.at(-1)!;
    expect(seen.body).toMatchObject({ model: 'test-model' });
    expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it('streams chunk by chunk and ends cleanly, usage included', async () => {
    const stream = await client.chat.completions.create({
      model: 'main/test-model',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'stream me' }] }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: stream me');
    expect(chunks).toBeGreaterThan(3);
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it('answers embeddings in the encoding asked for (the SDK asks for base64)', async () => {
    const viaSdk = await client.embeddings.create({ model: 'main/embed-model', input: ['alpha', 'beta'] });
    const asFloats = await client.embeddings.create({ model: 'main/embed-model', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(viaSdk.data).toHaveLength(2);
    expect(viaSdk.data[0]!.embedding.length).toBe(8);
    expect(viaSdk.data[0]!.embedding).toEqual(asFloats.data[0]!.embedding);
    expect(stack.upstreams.main!.requests.at(-2)!.body).toMatchObject({ encoding_format: 'base64' });
  });

  it('lists the configured models, aliases and auto', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['auto', 'main/test-model', 'main/embed-model', 'spare/other-model', 'fast']));
  });

  it('lists what a backend itself serves on /admin/backends/:id/models (a real upstream call)', async () => {
    const calls = stack.upstreams.spare!.calls;
    const response = await fetch(`${stack.optimizer.url}/admin/backends/spare/models`);
    expect(response.status).toBe(200);
    const list = (await response.json()) as { object: string; data: { id: string }[] };
    expect(list.data.map((m) => m.id)).toEqual(['test-model', 'other-model']);
    expect(stack.upstreams.spare!.calls).toBe(calls + 1);
    expect((await fetch(`${stack.optimizer.url}/admin/backends/ghost/models`)).status).toBe(404);
  });

  it('resolves aliases, auto and bare model names', async () => {
    const alias = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'a' }] }).withResponse();
    expect(alias.response.headers.get('x-backend')).toBe('spare');
    expect(alias.response.headers.get('x-route-reason')).toBe('alias');
    const auto = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'b' }] }).withResponse();
    expect(auto.response.headers.get('x-backend')).toBe('main');
    const bare = await client.chat.completions.create({ model: 'other-model', messages: [{ role: 'user', content: 'c' }] }).withResponse();
    expect(bare.response.headers.get('x-backend')).toBe('spare');
  });

  it('x-backend pins the backend', async () => {
    const pinned = await client.chat.completions
      .create({ model: 'test-model', messages: [{ role: 'user', content: 'pin' }] }, { headers: { 'x-backend': 'spare' } })
      .withResponse();
    expect(pinned.response.headers.get('x-backend')).toBe('spare');
    expect(pinned.response.headers.get('x-route-reason')).toBe('pinned');
  });

  it('answers an unknown model with 404 in OpenAI’s error shape', async () => {
    const error = await client.chat.completions.create({ model: 'nope/never', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as APIError).code).toBe('MODEL_NOT_FOUND');
    expect((error as APIError).param).toBe('model');
    const pinnedUnknown = await client.chat.completions
      .create({ model: 'test-model', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-backend': 'ghost' } })
      .catch((e: unknown) => e);
    expect((pinnedUnknown as APIError).code).toBe('BACKEND_NOT_FOUND');
  });

  it('rejects bad input with stable codes and keeps serving', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${stack.optimizer.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const cases: [Response, number, string][] = [
      [await post('{"model": "main/test-model", "messages": ['), 400, 'INVALID_JSON'],
      [await post('{"model":"main/test-model"}'), 400, 'INVALID_REQUEST'],
      [await post('{"model":"main/test-model","messages":[{"role":"wizard","content":"x"}]}'), 400, 'INVALID_REQUEST'],
      [await post('{"model":"main/test-model","messages":[{"role":"user","content":"x"}],"temperature":"hot"}'), 400, 'INVALID_REQUEST'],
      [await post(JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] })), 413, 'BODY_TOO_LARGE'],
      [await post('a=b', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [await fetch(`${stack.optimizer.url}/v1/nothing-here`), 404, 'NOT_FOUND'],
      [await fetch(`${stack.optimizer.url}/v1/chat/completions`), 405, 'METHOD_NOT_ALLOWED'],
      [await post('{"messages":[{"role":"user","content":"x"}]}', { 'x-agent-id': 'bad agent id with spaces' }), 400, 'INVALID_REQUEST'],
    ];
    for (const [response, status, code] of cases) {
      expect(response.status, code).toBe(status);
      const body = (await response.json()) as { error: { code: string; message: string; type: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(10);
      expect(body.error.type).toBeTypeOf('string');
    }
    // An empty or blank body says so, rather than quoting a parser error.
    for (const blank of ['', ' \n\t ']) {
      const response = await post(blank);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'INVALID_JSON',
        message: 'The request body is empty; send a JSON object.',
      });
    }
    const ok = await client.chat.completions.create({ model: 'main/test-model', messages: [{ role: 'user', content: 'still here' }] });
    expect(ok.choices[0]?.message.content).toBe('echo: still here');
  });

  it('answers upstream failures with the right status: exhausted ones name their dead letter, caller errors pass on', async () => {
    const main = stack.upstreams.main!;
    const ask = (): Promise<APIError> =>
      // Pinned: spare serves test-model too, and would otherwise take over (failover).
      client.chat.completions.create({ model: 'main/test-model', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-backend': 'main' } }).then(
        () => Promise.reject(new Error('expected an error')),
        (e: unknown) => e as APIError,
      );

    main.script([{ kind: 'status', status: 429, retryAfterSeconds: 7 }]);
    const limited = await ask();
    expect(limited).toBeInstanceOf(OpenAI.InternalServerError);
    expect(limited.status).toBe(503);
    expect(limited.code).toBe('ALL_BACKENDS_FAILED');
    expect(limited.headers?.get('retry-after')).toBe('7');
    expect((limited.error as { dlq_id?: string }).dlq_id).toMatch(/^dlq_/);

    main.script([{ kind: 'status', status: 500 }]);
    const broken = await ask();
    expect(broken.status).toBe(502);
    expect(broken.code).toBe('ALL_BACKENDS_FAILED');
    expect(broken.message).toContain('UPSTREAM_ERROR');

    main.script([{ kind: 'status', status: 400, body: { error: { message: 'temperature is not supported', type: 'invalid_request_error' } } }]);
    const rejected = await ask();
    expect(rejected.status).toBe(400);
    expect(rejected.code).toBe('UPSTREAM_REJECTED');
    expect(rejected.message).toContain('temperature is not supported');

    main.script([{ kind: 'malformed' }]);
    const malformed = await ask();
    expect(malformed.status).toBe(502);
    expect(malformed.message).toContain('UPSTREAM_BAD_RESPONSE');
  });

  it('ends a stream that breaks midway with an explicit error, never a clean end', async () => {
    stack.upstreams.main!.script([{ kind: 'cut-stream', afterChunks: 2 }]);
    const stream = await client.chat.completions.create(
      { model: 'main/test-model', messages: [{ role: 'user', content: 'cut' }], stream: true },
      { headers: { 'x-backend': 'main' } },
    );
    const received: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(received.length).toBeGreaterThan(0);
    expect(failure).toBeInstanceOf(APIError);
    expect(String((failure as Error).message)).toContain('broke off the stream');
  });

  it('relays an in-stream provider error as an explicit error', async () => {
    stack.upstreams.main!.script([{ kind: 'stream-error', afterChunks: 2 }]);
    const stream = await client.chat.completions.create(
      { model: 'main/test-model', messages: [{ role: 'user', content: 'err' }], stream: true },
      { headers: { 'x-backend': 'main' } },
    );
    const failure = await (async () => {
      for await (const _chunk of stream) void _chunk;
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(APIError);
  });

  it('tolerates keep-alive comment lines in upstream streams', async () => {
    stack.upstreams.main!.script([{ kind: 'keepalive', comments: 3 }]);
    const stream = await client.chat.completions.create({ model: 'main/test-model', messages: [{ role: 'user', content: 'kept alive' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: kept alive');
  });

  it('never writes the upstream key into its logs', () => {
    expect(stack.logs.length).toBeGreaterThan(0);
    expect(stack.logs.join('\n')).not.toContain(UPSTREAM_KEY);
  });
});
