/**
 * The loopback upstream, driven by the official `openai` client: if the SDK reads it, a gateway
 * adapter written against OpenAI's wire format will too.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream } from '../../src/loopback/openai-upstream.js';
import type { OpenAIUpstream } from '../../src/loopback/openai-upstream.js';
import { isDoneSentinel, parseSse } from '../../src/providers/sse.js';

let upstream: OpenAIUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: upstream.url, maxRetries: 0, timeout: 5_000, logLevel: 'off' });
});
afterEach(() => upstream.reset());
afterAll(() => upstream.close());

const user = (content: string): OpenAI.Chat.ChatCompletionMessageParam[] => [
  { role: 'system', content: 'You are a test.' },
  { role: 'user', content },
];

async function rawPost(path: string, body: unknown): Promise<Response> {
  return fetch(upstream.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const streamBody = (content: string) => ({ model: 'test-model', stream: true, messages: user(content) });

describe('chat completions', () => {
  it('answers a plain request with echo content and usage', async () => {
    const { data: completion, response } = await client.chat.completions
      .create({ model: 'gpt-test', messages: user('hello world') })
      .withResponse();
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe('gpt-test');
    expect(typeof completion.created).toBe('number');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'echo: hello world' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const usage = completion.usage;
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? NaN) + (usage?.completion_tokens ?? NaN));
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(response.headers.get('x-ratelimit-limit-requests')).toMatch(/^\d+$/);
    expect(response.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
    expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(ms|s)$/);
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toMatch(/^\d+$/);
  });

  it('echoes the text parts of an array content', async () => {
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [
        { role: 'user', content: 'older message' },
        { role: 'assistant', content: 'older answer' },
        { role: 'user', content: [{ type: 'text', text: 'part one' }, { type: 'text', text: 'part two' }] },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('echo: part one\npart two');
  });

  it('streams chunks with include_usage: role first, content, finish, usage chunk, [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: user('stream me please'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-test')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant', content: '' });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('echo: stream me please');
    const contentChunks = chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '');
    expect(contentChunks).toHaveLength(4); // default chunks option
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishing.map((c) => c.choices[0]?.finish_reason)).toEqual(['stop']);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.total_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('omits usage from chunks without include_usage and ends the raw stream with [DONE]', async () => {
    const response = await rawPost('/chat/completions', streamBody('x'));
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(await response.text());
    expect(isDoneSentinel(events.at(-1)?.data ?? '')).toBe(true);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
  });

  it('answers a tool call when tools are given and the user says call_tool', async () => {
    const tools: OpenAI.Chat.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } },
    ];
    const plain = await client.chat.completions.create({ model: 'm', messages: user('please call_tool now'), tools });
    const message = plain.choices[0]?.message;
    expect(plain.choices[0]?.finish_reason).toBe('tool_calls');
    expect(message?.content).toBeNull();
    const call = message?.tool_calls?.[0];
    expect(call?.type).toBe('function');
    expect(call?.id).toMatch(/^call_/);
    const fn = call && call.type === 'function' ? call.function : undefined;
    expect(fn?.name).toBe('get_weather');
    expect(JSON.parse(fn?.arguments ?? '')).toEqual({ input: 'please call_tool now' });

    const stream = await client.chat.completions.create({
      model: 'm',
      messages: user('please call_tool now'),
      tools,
      stream: true,
    });
    let name = '';
    let args = '';
    let id: string | undefined;
    let finish: string | null | undefined;
    let deltas = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const toolCall of choice?.delta.tool_calls ?? []) {
        deltas++;
        expect(toolCall.index).toBe(0);
        id ??= toolCall.id;
        name += toolCall.function?.name ?? '';
        args += toolCall.function?.arguments ?? '';
      }
      finish = choice?.finish_reason ?? finish;
    }
    expect(id).toMatch(/^call_/);
    expect(name).toBe('get_weather');
    expect(deltas).toBeGreaterThan(2); // arguments come in pieces
    expect(JSON.parse(args)).toEqual({ input: 'please call_tool now' });
    expect(finish).toBe('tool_calls');
  });

  it('answers text when tools are given but call_tool is not asked', async () => {
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: user('just talk'),
      tools: [{ type: 'function', function: { name: 'f' } }],
    });
    expect(completion.choices[0]?.message.content).toBe('echo: just talk');
  });

  it('records requests and counts calls', async () => {
    await client.chat.completions.create({ model: 'm', messages: user('recorded') });
    expect(upstream.calls).toBe(1);
    const recorded = upstream.requests[0];
    expect(recorded).toMatchObject({ method: 'POST', path: '/v1/chat/completions', behaviour: 'ok' });
    expect(recorded?.headers.authorization).toBe('Bearer sk-test');
    expect(recorded?.body).toMatchObject({ model: 'm', messages: user('recorded') });
  });

  it('answers malformed JSON with a 400 in OpenAI shape', async () => {
    const response = await rawPost('/chat/completions', '{"model":');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: null },
    });
  });

  it('answers an unknown path with a 404 in OpenAI shape', async () => {
    const response = await rawPost('/nope', {});
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error' });
  });
});

describe('embeddings and models', () => {
  it('returns the same float32 vectors as floats and as base64', async () => {
    const input = ['first text', 'second text', 'ünïcödé 🌍'];
    const floats = await client.embeddings.create({ model: 'emb', input, encoding_format: 'float' });
    expect(floats.object).toBe('list');
    expect(floats.data).toHaveLength(3);
    expect(floats.data[0]?.embedding).toHaveLength(8);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    // The SDK asks for base64 by default and decodes it as float32.
    const decoded = await client.embeddings.create({ model: 'emb', input });
    expect(upstream.requests.at(-1)?.body).toMatchObject({ encoding_format: 'base64' });
    expect(decoded.data.map((d) => Array.from(d.embedding))).toEqual(floats.data.map((d) => d.embedding));
    // Deterministic, different per text, unit length.
    const again = await client.embeddings.create({ model: 'emb', input: 'first text', encoding_format: 'float' });
    expect(again.data[0]?.embedding).toEqual(floats.data[0]?.embedding);
    expect(floats.data[1]?.embedding).not.toEqual(floats.data[0]?.embedding);
    const norm = Math.hypot(...(floats.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 5);
  });

  it('honours dimensions', async () => {
    const result = await client.embeddings.create({ model: 'emb', input: 'x', dimensions: 32, encoding_format: 'float' });
    expect(result.data[0]?.embedding).toHaveLength(32);
  });

  it('lists the configured models', async () => {
    const other = await startOpenAIUpstream({ models: ['a-model', 'b-model'] });
    try {
      const c = new OpenAI({ apiKey: 'k', baseURL: other.url, maxRetries: 0 });
      const ids: string[] = [];
      for await (const model of c.models.list()) {
        expect(model.object).toBe('model');
        expect(typeof model.created).toBe('number');
        expect(typeof model.owned_by).toBe('string');
        ids.push(model.id);
      }
      expect(ids).toEqual(['a-model', 'b-model']);
      expect((await c.models.retrieve('b-model')).id).toBe('b-model');
    } finally {
      await other.close();
    }
  });
});

describe('api key', () => {
  it('answers 401 invalid_api_key to a wrong or missing key', async () => {
    const guarded = await startOpenAIUpstream({ apiKey: 'sk-right' });
    try {
      const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: guarded.url, maxRetries: 0 });
      const error = await wrong.chat.completions.create({ model: 'm', messages: user('x') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
      const missing = await fetch(guarded.url + '/models');
      expect(missing.status).toBe(401);
      const right = new OpenAI({ apiKey: 'sk-right', baseURL: guarded.url, maxRetries: 0 });
      expect((await right.chat.completions.create({ model: 'm', messages: user('x') })).choices).toHaveLength(1);
    } finally {
      await guarded.close();
    }
  });
});

describe('behaviours', () => {
  it('status 429 carries retry-after and remaining-requests 0, and the queue then falls back to ok', async () => {
    upstream.script([{ kind: 'status', status: 429, retryAfterSeconds: 7 }]);
    const error = await client.chat.completions.create({ model: 'm', messages: user('x') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimited = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimited.headers.get('retry-after')).toBe('7');
    expect(rateLimited.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(rateLimited.code).toBe('rate_limit_exceeded');
    expect((await client.chat.completions.create({ model: 'm', messages: user('x') })).choices).toHaveLength(1);
  });

  it('takes scripted behaviours in order and applies the default after them', async () => {
    upstream.setDefault({ kind: 'status', status: 503 });
    upstream.script([{ kind: 'status', status: 500 }, { kind: 'ok' }]);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await rawPost('/chat/completions', { model: 'm', messages: user('x') });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(statuses).toEqual([500, 200, 503]);
    const error = await client.chat.completions.create({ model: 'm', messages: user('x') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe('server_error');
  });

  it('status with a custom body sends it as is', async () => {
    upstream.script([{ kind: 'status', status: 400, body: { error: { message: 'bad', type: 'invalid_request_error', param: 'x', code: 'c' } } }]);
    const error = await client.chat.completions.create({ model: 'm', messages: user('x') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('x');
  });

  it('reset destroys the connection: the SDK reports a connection error', async () => {
    upstream.script([{ kind: 'reset' }]);
    const error = await client.chat.completions.create({ model: 'm', messages: user('x') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(error).not.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it('hang never answers: the SDK times out; close() releases it', async () => {
    const hanging = await startOpenAIUpstream({ defaultBehaviour: { kind: 'hang' } });
    const c = new OpenAI({ apiKey: 'k', baseURL: hanging.url, maxRetries: 0, timeout: 150 });
    const error = await c.chat.completions.create({ model: 'm', messages: user('x') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    // A raw request still hanging is released (connection closed) by close().
    const pending = fetch(hanging.url + '/models').then(
      () => 'answered',
      () => 'closed',
    );
    while (hanging.calls < 2) await new Promise((r) => setTimeout(r, 5));
    await hanging.close();
    expect(await pending).toBe('closed');
    expect(hanging.openConnections).toBe(0);
  });

  it('malformed: a plain answer is not JSON and the SDK throws', async () => {
    upstream.script([{ kind: 'malformed' }]);
    const response = await rawPost('/chat/completions', { model: 'm', messages: user('x') });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
    upstream.script([{ kind: 'malformed' }]);
    await expect(client.chat.completions.create({ model: 'm', messages: user('x') })).rejects.toThrow();
  });

  it('malformed: a stream carries a data line that is not JSON and the SDK iterator throws', async () => {
    upstream.script([{ kind: 'malformed' }]);
    const raw = parseSse(await (await rawPost('/chat/completions', streamBody('x'))).text());
    expect(raw.some((e) => !isDoneSentinel(e.data) && !isJson(e.data))).toBe(true);
    upstream.script([{ kind: 'malformed' }]);
    const stream = await client.chat.completions.create({ ...streamBody('x'), stream: true });
    await expect(drain(stream)).rejects.toThrow();
  });

  it('cut-stream: n chunks then the socket closes without [DONE]; the SDK iterator throws', async () => {
    upstream.script([{ kind: 'cut-stream', afterChunks: 2 }]);
    const response = await rawPost('/chat/completions', streamBody('x'));
    expect(response.status).toBe(200);
    const received: string[] = [];
    const error = await readAll(response, received).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const events = parseSse(received.join(''));
    expect(events).toHaveLength(2);
    expect(events.some((e) => isDoneSentinel(e.data))).toBe(false);

    upstream.script([{ kind: 'cut-stream', afterChunks: 3 }]);
    const stream = await client.chat.completions.create({ ...streamBody('x'), stream: true });
    const seen: OpenAI.Chat.ChatCompletionChunk[] = [];
    await expect(drain(stream, seen)).rejects.toThrow();
    expect(seen).toHaveLength(3);
  });

  it('cut-stream with afterChunks 0 still sends the 200 headers before the cut', async () => {
    upstream.script([{ kind: 'cut-stream', afterChunks: 0 }]);
    const response = await rawPost('/chat/completions', streamBody('x'));
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
  });

  it('stream-error: an OpenRouter-style error event arrives on the 200 stream', async () => {
    upstream.script([{ kind: 'stream-error', afterChunks: 2 }]);
    const response = await rawPost('/chat/completions', streamBody('x'));
    expect(response.status).toBe(200);
    const events = parseSse(await response.text());
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[2]?.data ?? '')).toEqual({ error: { code: 502, message: expect.any(String) } });

    upstream.script([{ kind: 'stream-error', afterChunks: 1, code: 503, message: 'provider down' }]);
    const stream = await client.chat.completions.create({ ...streamBody('x'), stream: true });
    await expect(drain(stream)).rejects.toThrow(/provider down/);
  });

  it('keepalive: comment lines and blank lines are in the raw body and the SDK still parses', async () => {
    upstream.script([{ kind: 'keepalive', comments: 6 }]);
    const text = await (await rawPost('/chat/completions', streamBody('keep me'))).text();
    expect(text.match(/^: keep-alive$/gm)).toHaveLength(3);
    expect(text.match(/^: OPENROUTER PROCESSING$/gm)).toHaveLength(3);
    expect(text.startsWith(': ')).toBe(true);
    const firstData = text.indexOf('data: ');
    expect(text.slice(firstData).includes(': keep-alive') || text.slice(firstData).includes(': OPENROUTER')).toBe(true);

    upstream.script([{ kind: 'keepalive', comments: 6 }]);
    const stream = await client.chat.completions.create({ ...streamBody('keep me'), stream: true });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    await drain(stream, chunks);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('echo: keep me');

    // A plain answer is preceded by blank lines, as DeepSeek does, and is still JSON.
    upstream.script([{ kind: 'keepalive', comments: 3 }]);
    const plain = await (await rawPost('/chat/completions', { model: 'm', messages: user('x') })).text();
    expect(plain.startsWith('\n\n\n{')).toBe(true);
    upstream.script([{ kind: 'keepalive', comments: 3 }]);
    expect((await client.chat.completions.create({ model: 'm', messages: user('x') })).choices[0]?.message.content).toBe('echo: x');
  });

  it('slow: delays the headers and spaces the stream events', async () => {
    upstream.script([{ kind: 'slow', delayMs: 80, chunkDelayMs: 20 }]);
    const started = performance.now();
    const response = await rawPost('/chat/completions', streamBody('x'));
    const headersAt = performance.now() - started;
    await response.text();
    const doneAt = performance.now() - started;
    expect(headersAt).toBeGreaterThanOrEqual(70);
    // 7 frames (role, 4 content, finish, [DONE]) → 6 gaps of 20 ms.
    expect(doneAt - headersAt).toBeGreaterThanOrEqual(100);
  });

  it('delay-first-byte: headers at once, body later', async () => {
    upstream.script([{ kind: 'delay-first-byte', ms: 120 }]);
    const started = performance.now();
    const response = await rawPost('/chat/completions', { model: 'm', messages: user('x') });
    const headersAt = performance.now() - started;
    const body = (await response.json()) as OpenAI.Chat.ChatCompletion;
    const bodyAt = performance.now() - started;
    expect(headersAt).toBeLessThan(100);
    expect(bodyAt).toBeGreaterThanOrEqual(110);
    expect(body.choices[0]?.message.content).toBe('echo: x');
  });

  it('latencyMs delays every answer', async () => {
    const slow = await startOpenAIUpstream({ latencyMs: 60, record: false });
    try {
      const started = performance.now();
      const response = await fetch(slow.url + '/models');
      await response.json();
      expect(performance.now() - started).toBeGreaterThanOrEqual(55);
      expect(slow.requests).toHaveLength(0);
      expect(slow.calls).toBe(1);
    } finally {
      await slow.close();
    }
  });

  it('rejects an invalid behaviour or option with a message naming it', async () => {
    expect(() => upstream.script([{ kind: 'cut-stream', afterChunks: -1 }])).toThrow(/afterChunks/);
    expect(() => upstream.setDefault({ kind: 'status', status: 42 })).toThrow(/status/);
    expect(() => startOpenAIUpstream({ chunks: 0 })).toThrow(/options\.chunks/);
  });

  it('close() is idempotent and destroys idle keep-alive sockets', async () => {
    const u = await startOpenAIUpstream();
    const c = new OpenAI({ apiKey: 'k', baseURL: u.url, maxRetries: 0 });
    await c.chat.completions.create({ model: 'm', messages: user('x') });
    expect(u.openConnections).toBe(1);
    await Promise.all([u.close(), u.close()]);
    expect(u.openConnections).toBe(0);
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function drain<T>(stream: AsyncIterable<T>, into: T[] = []): Promise<T[]> {
  for await (const item of stream) into.push(item);
  return into;
}

async function readAll(response: Response, into: string[]): Promise<void> {
  const decoder = new TextDecoder();
  if (!response.body) return;
  for await (const chunk of response.body) into.push(decoder.decode(chunk as Uint8Array, { stream: true }));
}
