/**
 * The shared provider contract: one list of cases that every adapter runs, through the real
 * optimizer, against its loopback upstream speaking the provider's own wire format (kits in
 * ./contract/kits.ts). Each kit's backend `native` serves two models: the first fails over to an
 * OpenAI-compatible `spare`, the second has no fallback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestWsClient } from '../support/ws-client.js';
import { startStack, type Stack } from '../support/stack.js';
import { KITS, type KitUpstream } from './contract/kits.js';

type Json = Record<string, any>;

const TOOLS = [{ type: 'function', function: { name: 'lookup', description: 'Looks a thing up.', parameters: { type: 'object', properties: { input: { type: 'string' } } } } }];

interface Sse {
  status: number;
  headers: Headers;
  chunks: Json[];
  errors: Json[];
  done: boolean;
}

async function post(stack: Stack, path: string, body: Json, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${stack.optimizer.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-agent-id': 'contract', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function parseSse(text: string): Omit<Sse, 'status' | 'headers'> {
  const out = { chunks: [] as Json[], errors: [] as Json[], done: false };
  for (const block of text.split('\n\n')) {
    const data = block.replace(/^data: /, '').trim();
    if (data === '') continue;
    if (data === '[DONE]') out.done = true;
    else {
      const value = JSON.parse(data) as Json;
      if (value.error) out.errors.push(value.error);
      else out.chunks.push(value);
    }
  }
  return out;
}

const contentOf = (chunks: Json[]) => chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');

for (const kit of KITS) {
  describe(`provider contract: ${kit.name}`, () => {
    let stack: Stack;
    let upstream: KitUpstream;
    const [model, solo] = kit.models;
    const name = `native/${model}`;

    beforeAll(async () => {
      const started = await kit.start();
      upstream = started.upstream;
      stack = await startStack({
        upstreams: { spare: { models: ['test-model'] } },
        extraBackends: [started.backend],
        env: kit.env,
        config: {
          cache: { enabled: false },
          dedupe: { enabled: false },
          routing: { fallbacks: { [name]: ['spare/test-model'] } },
          resilience: { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 }, breaker: { failureThreshold: 1000 }, requestTimeoutMs: 5000, jitterSeed: 1 },
        },
      });
    });
    afterAll(async () => {
      await stack.close();
      await upstream.close();
    });
    afterEach(() => {
      upstream.reset();
      stack.upstreams.spare!.reset();
    });

    const chat = (extra: Json = {}, target = `native/${solo}`) => post(stack, '/v1/chat/completions', { model: target, messages: [{ role: 'user', content: 'hello' }], ...extra });

    it('answers a chat completion in OpenAI format, with usage, calling the provider with its model id', async () => {
      const answer = await chat();
      expect(answer.status).toBe(200);
      const body = JSON.parse(answer.text) as Json;
      expect(body.object).toBe('chat.completion');
      expect(body.choices[0].message).toMatchObject({ role: 'assistant', content: 'echo: hello' });
      expect(body.choices[0].finish_reason).toBe('stop');
      expect(body.usage.prompt_tokens).toBeGreaterThan(0);
      expect(body.usage.completion_tokens).toBeGreaterThan(0);
      expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
      expect(answer.headers.get('x-backend')).toBe('native');
      expect(upstream.calls).toBe(1);
      expect(kit.seenModel(upstream.last()!)).toBe(solo);
    });

    it('streams over HTTP as chat.completion.chunk events ending in [DONE], without usage unless asked', async () => {
      const answer = await chat({ stream: true });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toContain('text/event-stream');
      const sse = parseSse(answer.text);
      expect(sse.done).toBe(true);
      expect(sse.errors).toEqual([]);
      expect(sse.chunks.length).toBeGreaterThan(1);
      for (const chunk of sse.chunks) expect(chunk.object).toBe('chat.completion.chunk');
      expect(sse.chunks[0]!.choices[0].delta.role).toBe('assistant');
      expect(contentOf(sse.chunks)).toBe('echo: hello');
      expect(sse.chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
      expect(sse.chunks.some((c) => c.usage)).toBe(false);
    });

    it('streams the usage chunk last when stream_options.include_usage is set', async () => {
      const sse = parseSse((await chat({ stream: true, stream_options: { include_usage: true } })).text);
      expect(sse.done).toBe(true);
      const last = sse.chunks.at(-1)!;
      expect(last.choices).toEqual([]);
      expect(last.usage.total_tokens).toBeGreaterThan(0);
      expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + last.usage.completion_tokens);
      for (const chunk of sse.chunks.slice(0, -1)) expect(chunk.usage ?? null).toBeNull();
    });

    it('streams over WebSocket as chunk frames then done', async () => {
      const client = await TestWsClient.connect(stack.optimizer.url);
      try {
        await client.hello('contract-ws');
        client.send({ type: 'request', id: 'w1', params: { model: `native/${solo}`, messages: [{ role: 'user', content: 'hello ws' }], stream: true } });
        await client.next((f) => f.id === 'w1' && (f.type === 'done' || f.type === 'error'));
        const frames = client.framesFor('w1');
        expect(frames.at(-1)!.type).toBe('done');
        const chunks = frames.filter((f) => f.type === 'chunk').map((f) => f.data as Json);
        expect(contentOf(chunks)).toBe('echo: hello ws');
      } finally {
        client.close();
      }
    });

    it('returns tool calls with their arguments as a JSON string (plain and streamed)', async () => {
      const request = { tools: TOOLS, tool_choice: 'auto', messages: [{ role: 'user', content: 'please call_tool now' }] };
      const plain = JSON.parse((await chat(request)).text) as Json;
      const call = plain.choices[0].message.tool_calls[0];
      expect(call).toMatchObject({ type: 'function', function: { name: 'lookup' } });
      expect(typeof call.id).toBe('string');
      expect(JSON.parse(call.function.arguments)).toEqual({ input: 'please call_tool now' });
      expect(plain.choices[0].finish_reason).toBe('tool_calls');

      const sse = parseSse((await chat({ ...request, stream: true })).text);
      expect(sse.done).toBe(true);
      const deltas = sse.chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
      expect(deltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'lookup' } });
      expect(JSON.parse(deltas.map((d: Json) => d.function?.arguments ?? '').join(''))).toEqual({ input: 'please call_tool now' });
      expect(sse.chunks.find((c) => c.choices[0]?.finish_reason)!.choices[0].finish_reason).toBe('tool_calls');
    });

    it('sends a tool-call turn and its result in the provider format, and answers from it', async () => {
      const answer = await chat({
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'please call_tool now' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"input":"x"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: '42' },
        ],
      });
      expect(answer.status).toBe(200);
      kit.checkToolTurn(upstream.last()!.body);
      expect((JSON.parse(answer.text) as Json).choices[0].message.content).toContain(kit.afterToolReply);
    });

    for (const fix of kit.fixes ?? []) {
      it(`does it the provider's way: ${fix.name}`, async () => {
        const answer = await chat(fix.extra, `native/${fix.model ?? solo}`);
        expect(answer.status, answer.text).toBe(200);
        expect(upstream.calls).toBe(1);
        fix.check(upstream.last()!.body, JSON.parse(answer.text) as Json);
      });
    }

    for (const error of kit.errors) {
      it(`maps ${error.name} to ${error.code} (${error.retried ? 'retried' : 'not retried'} on the same backend)`, async () => {
        upstream.setDefault(error.behaviour);
        const answer = await chat();
        upstream.setDefault({ kind: 'ok' });
        const body = JSON.parse(answer.text) as Json;
        expect(upstream.calls).toBe(error.retried ? 2 : 1);
        if (error.clientStatus !== undefined) {
          expect(answer.status).toBe(error.clientStatus);
          expect(body.error.code).toBe(error.code);
        } else {
          // One backend and nowhere to fail over: kept as a dead letter naming what the backend said.
          expect(body.error.code).toBe('ALL_BACKENDS_FAILED');
          const entry = stack.optimizer.runtime.deadLetters.get(body.error.dlq_id as string)!;
          expect(entry.attempts.map((a) => a.code)).toEqual(Array(upstream.calls).fill(error.code));
        }
      });
    }

    it('honours a 429 in the provider shape: retry-after reaches the client and the quota cools the backend down', async () => {
      upstream.setDefault(kit.rateLimited);
      const before = Date.now();
      const answer = await chat();
      upstream.setDefault({ kind: 'ok' });
      expect(answer.status).toBe(503); // every backend rate limited (its retry is past the deadline)
      expect((JSON.parse(answer.text) as Json).error.code).toBe('ALL_BACKENDS_FAILED');
      expect(Number(answer.headers.get('retry-after'))).toBe(30);
      expect(upstream.calls).toBe(1);
      const state = stack.optimizer.runtime.quotas.get('native')!.state(Date.now());
      expect(state.coolingDownUntil).toBeGreaterThanOrEqual(before + 29_000);
      kit.checkQuota?.(state);
      // Let the next cases use the backend again.
      stack.optimizer.runtime.quotas.get('native')!.coolDown(-Infinity);
    });

    it('ends a stream that fails after its first chunk with an explicit error event, never [DONE]', async () => {
      upstream.setDefault({ kind: 'stream-error', afterChunks: 2 });
      const answer = await chat({ stream: true });
      upstream.setDefault({ kind: 'ok' });
      expect(answer.status).toBe(200);
      const sse = parseSse(answer.text);
      expect(sse.chunks.length).toBeGreaterThan(0);
      expect(sse.done).toBe(false);
      expect(sse.errors).toHaveLength(1);
      expect(sse.errors[0]!.code).toBe('UPSTREAM_STREAM_ERROR');
    });

    it('fails over to the next candidate when the stream fails before its first chunk', async () => {
      upstream.setDefault({ kind: 'stream-error', afterChunks: 0 });
      const answer = await chat({ stream: true }, name);
      upstream.setDefault({ kind: 'ok' });
      expect(answer.headers.get('x-backend')).toBe('spare');
      const sse = parseSse(answer.text);
      expect(sse.done).toBe(true);
      expect(contentOf(sse.chunks)).toBe('echo: hello');
    });

    const unsupported = kit.unsupported;
    if (unsupported) {
      const request = (target: string) =>
        unsupported.endpoint === 'embeddings'
          ? post(stack, '/v1/embeddings', { model: target, input: 'hello', ...unsupported.extra })
          : chat(unsupported.extra, target);

      it(`fails over, before any upstream call, for what it cannot do (${unsupported.capability})`, async () => {
        const answer = await request(name);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('x-backend')).toBe('spare');
        expect(upstream.calls).toBe(0);
      });

      it(`answers CAPABILITY_UNSUPPORTED naming ${unsupported.capability} when no candidate can, keeping no dead letter`, async () => {
        const dead = stack.optimizer.runtime.deadLetters.count();
        const answer = await request(`native/${solo}`);
        expect(answer.status).toBe(400);
        const error = (JSON.parse(answer.text) as Json).error;
        expect(error.code).toBe('CAPABILITY_UNSUPPORTED');
        expect(error.message).toContain(unsupported.capability);
        expect(upstream.calls).toBe(0);
        expect(stack.optimizer.runtime.deadLetters.count()).toBe(dead);
      });
    }
  });
}
