/**
 * The cache, the dedupe window and replays store what the client received: for a native provider,
 * the OpenAI-format answer after translation. A translated answer is cached, served again as JSON,
 * and replayed as a stream (and a translated stream is served again as JSON).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicUpstream } from '../../src/loopback/anthropic-upstream.js';
import type { NativeUpstream } from '../../src/loopback/scripted-server.js';
import { startStack, type Stack } from '../support/stack.js';

type Json = Record<string, any>;

describe('a native adapter behind the cache (Anthropic)', () => {
  let stack: Stack;
  let anthropic: NativeUpstream;

  beforeAll(async () => {
    anthropic = await startAnthropicUpstream({ apiKey: 'sk-ant' });
    stack = await startStack({
      upstreams: {},
      extraBackends: [{ id: 'claude', provider: 'anthropic', baseUrl: anthropic.url, apiKeyEnv: 'ANT_KEY', models: ['claude-sonnet-4-5'] }],
      env: { ANT_KEY: 'sk-ant' },
      config: { dedupe: { enabled: false } },
    });
  });
  afterAll(async () => {
    await stack.close();
    await anthropic.close();
  });

  const ask = async (content: string, extra: Json = {}) => {
    const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'cache' },
      body: JSON.stringify({ model: 'claude/claude-sonnet-4-5', temperature: 0, messages: [{ role: 'user', content }], ...extra }),
    });
    return { cache: response.headers.get('x-cache'), text: await response.text() };
  };
  const chunksOf = (text: string) => text.split('\n\n').filter((b) => b.startsWith('data: {')).map((b) => JSON.parse(b.slice(6)) as Json);

  it('caches the translated JSON answer and replays it as JSON and as an OpenAI stream', async () => {
    const first = await ask('cache me');
    expect(first.cache).toBe('miss');
    const answer = JSON.parse(first.text) as Json;
    expect(answer.choices[0].message.content).toBe('echo: cache me');
    const again = await ask('cache me');
    expect(again.cache).toBe('hit');
    expect(JSON.parse(again.text)).toEqual(answer);
    const replay = await ask('cache me', { stream: true, stream_options: { include_usage: true } });
    expect(replay.cache).toBe('hit');
    const chunks = chunksOf(replay.text);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('echo: cache me');
    expect(chunks.at(-1)!.usage).toEqual(answer.usage);
    expect(replay.text.trim().endsWith('data: [DONE]')).toBe(true);
    expect(anthropic.calls).toBe(1);
  });

  it('caches a translated stream and serves it again as a stream and as JSON', async () => {
    const calls = anthropic.calls;
    const first = await ask('stream me', { stream: true });
    expect(first.cache).toBe('miss');
    const streamed = chunksOf(first.text);
    const replay = await ask('stream me', { stream: true });
    expect(replay.cache).toBe('hit');
    expect(chunksOf(replay.text)).toEqual(streamed);
    const json = await ask('stream me');
    expect(json.cache).toBe('hit');
    expect((JSON.parse(json.text) as Json).choices[0]).toMatchObject({ message: { role: 'assistant', content: 'echo: stream me' }, finish_reason: 'stop' });
    expect(anthropic.calls).toBe(calls + 1);
  });
});
