/**
 * Reasoning controls: OpenAI's `reasoning_effort` in each native provider's terms (unit), and
 * Gemini 3's thought signatures kept across a tool-call round trip through the real optimizer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicUpstream } from '../../src/loopback/anthropic-upstream.js';
import { startGeminiUpstream } from '../../src/loopback/gemini-upstream.js';
import type { NativeUpstream } from '../../src/loopback/scripted-server.js';
import type { SseEvent } from '../../src/providers/sse.js';
import { anthropicRequest, DEFAULT_MAX_TOKENS } from '../../src/providers/anthropic/request.js';
import { geminiRequest } from '../../src/providers/gemini/request.js';
import { openAICompletion as geminiCompletion } from '../../src/providers/gemini/response.js';
import { GeminiStreamTranslator } from '../../src/providers/gemini/stream.js';
import { ollamaChatRequest } from '../../src/providers/ollama/request.js';
import { anthropicThinking, anthropicThinks, geminiThinkingConfig, ollamaThink, reasoningEffort, GEMINI_SKIP_SIGNATURE } from '../../src/providers/reasoning.js';
import { startStack, type Stack } from '../support/stack.js';

type Json = Record<string, any>;
const user = { role: 'user', content: 'hi' };
const TOOLS = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { input: { type: 'string' } } } } }];

describe('reasoning_effort', () => {
  it('is read tolerantly: the five levels, xhigh/max as high, anything else ignored', () => {
    for (const e of ['none', 'minimal', 'low', 'medium', 'high']) expect(reasoningEffort({ reasoning_effort: e })).toBe(e);
    expect(reasoningEffort({ reasoning_effort: 'xhigh' })).toBe('high');
    expect(reasoningEffort({ reasoning_effort: 'max' })).toBe('high');
    expect(reasoningEffort({ reasoning_effort: 'lots' })).toBeUndefined();
    expect(reasoningEffort({})).toBeUndefined();
  });

  it('Anthropic: budgets per effort; max_tokens always above the budget', () => {
    expect(anthropicThinking('none', 100, 4096)).toBeUndefined();
    expect(anthropicThinking('minimal', undefined, 4096)).toEqual({ thinking: { type: 'enabled', budget_tokens: 1024 }, maxTokens: 1024 + 4096 });
    expect(anthropicThinking('high', 30_000, 4096)).toEqual({ thinking: { type: 'enabled', budget_tokens: 24_576 }, maxTokens: 30_000 });
    expect(anthropicThinking('medium', 8192, 4096)!.maxTokens).toBe(8192 + 8192); // at the budget: room added
    for (const e of ['minimal', 'low', 'medium', 'high'] as const) {
      for (const max of [undefined, 1, 1024, 5000, 100_000]) {
        const t = anthropicThinking(e, max, DEFAULT_MAX_TOKENS)!;
        expect(t.maxTokens).toBeGreaterThan(t.thinking.budget_tokens as number);
      }
    }
  });

  it('Anthropic: models before Claude 3.7 get no thinking', () => {
    for (const m of ['claude-3-5-sonnet-20241022', 'claude-3-5-haiku-latest', 'claude-3-opus-20240229', 'claude-3-haiku-20240307']) expect(anthropicThinks(m), m).toBe(false);
    for (const m of ['claude-3-7-sonnet-20250219', 'claude-sonnet-4-5', 'claude-opus-4-6', 'claude-haiku-4-5']) expect(anthropicThinks(m), m).toBe(true);
    expect(anthropicRequest({ messages: [user], reasoning_effort: 'high' }, 'claude-3-5-haiku-latest', false)).not.toHaveProperty('thinking');
  });

  it('Anthropic request: thinking on, temperature left out, top_p kept only from 0.95', () => {
    const out = anthropicRequest({ messages: [user], reasoning_effort: 'medium', temperature: 0.2, top_p: 0.9 }, 'claude-sonnet-4-5', false);
    expect(out).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 8192 }, max_tokens: 8192 + DEFAULT_MAX_TOKENS });
    expect(out).not.toHaveProperty('temperature');
    expect(out).not.toHaveProperty('top_p');
    expect(anthropicRequest({ messages: [user], reasoning_effort: 'low', top_p: 0.96 }, 'claude-sonnet-4-5', false).top_p).toBe(0.96);
    expect(anthropicRequest({ messages: [user], reasoning_effort: 'none', temperature: 0.2 }, 'claude-sonnet-4-5', false)).toMatchObject({ temperature: 0.2, max_tokens: DEFAULT_MAX_TOKENS });
  });

  it('Anthropic request: no thinking with a forced tool choice or inside a tool loop (Anthropic would refuse it)', () => {
    expect(anthropicRequest({ messages: [user], tools: TOOLS, tool_choice: 'required', reasoning_effort: 'high' }, 'claude-sonnet-4-5', false)).not.toHaveProperty('thinking');
    expect(anthropicRequest({ messages: [user], tools: TOOLS, tool_choice: { type: 'function', function: { name: 'lookup' } }, reasoning_effort: 'high' }, 'claude-sonnet-4-5', false)).not.toHaveProperty('thinking');
    expect(anthropicRequest({ messages: [user], tools: TOOLS, tool_choice: 'auto', reasoning_effort: 'high' }, 'claude-sonnet-4-5', false)).toHaveProperty('thinking');
    const loop = [user, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'lookup', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: '1' }];
    expect(anthropicRequest({ messages: loop, tools: TOOLS, reasoning_effort: 'high' }, 'claude-sonnet-4-5', false)).not.toHaveProperty('thinking');
  });

  it('Gemini: a budget for 2.5, a level for 3 — never both', () => {
    expect(geminiThinkingConfig('none', 'gemini-2.5-flash')).toEqual({ thinkingBudget: 0, includeThoughts: false });
    expect(geminiThinkingConfig('none', 'gemini-2.5-pro')).toEqual({ thinkingBudget: 128, includeThoughts: false }); // cannot turn it off
    expect(geminiThinkingConfig('low', 'models/gemini-2.5-flash-lite')).toEqual({ thinkingBudget: 1024, includeThoughts: true });
    expect(geminiThinkingConfig('high', 'gemini-2.5-pro')).toEqual({ thinkingBudget: 24_576, includeThoughts: true });
    expect(geminiThinkingConfig('minimal', 'gemini-3-pro-preview')).toEqual({ thinkingLevel: 'low', includeThoughts: true });
    expect(geminiThinkingConfig('medium', 'gemini-3-pro-preview')).toEqual({ thinkingLevel: 'high', includeThoughts: true });
    expect(geminiThinkingConfig('none', 'gemini-3-flash-preview')).toEqual({ thinkingLevel: 'minimal', includeThoughts: false });
    expect(geminiThinkingConfig('medium', 'gemini-3-flash-preview')).toEqual({ thinkingLevel: 'medium', includeThoughts: true });
    expect(geminiThinkingConfig('high', 'gemini-2.0-flash')).toBeUndefined();
    for (const model of ['gemini-2.5-flash', 'gemini-3-pro-preview']) {
      for (const e of ['none', 'minimal', 'low', 'medium', 'high'] as const) {
        const config = (geminiRequest({ messages: [user], reasoning_effort: e }, model) as Json).generationConfig.thinkingConfig;
        expect('thinkingBudget' in config && 'thinkingLevel' in config).toBe(false);
      }
    }
    expect(geminiRequest({ messages: [user], reasoning_effort: 'high' }, 'gemini-2.0-flash')).not.toHaveProperty('generationConfig');
  });

  it('Ollama: think false for none, true otherwise; gpt-oss takes the level', () => {
    expect(ollamaThink('none', 'qwen3')).toBe(false);
    expect(ollamaThink('low', 'qwen3')).toBe(true);
    expect(ollamaThink('high', 'gpt-oss:20b')).toBe('high');
    expect(ollamaThink('minimal', 'gpt-oss:20b')).toBe('low');
    expect(ollamaChatRequest({ messages: [user], reasoning_effort: 'medium' }, 'qwen3', false).think).toBe(true);
    expect(ollamaChatRequest({ messages: [user] }, 'qwen3', false)).not.toHaveProperty('think');
  });
});

describe('Gemini 3 thought signatures (unit)', () => {
  const call = (signature?: string) => ({ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' }, ...(signature ? { extra_content: { google: { thought_signature: signature } } } : {}) });

  it('an answer’s signed function call becomes a tool call carrying extra_content.google.thought_signature (plain and streamed)', () => {
    const answer = { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { a: 1 } }, thoughtSignature: 'U0lH' }] }, finishReason: 'STOP' }], responseId: 'r1' };
    const message = (geminiCompletion(answer, 'gemini-3-pro-preview', 0) as Json).choices[0].message;
    expect(message.tool_calls[0]).toEqual({ id: 'call_r1_0', type: 'function', function: { name: 'lookup', arguments: '{"a":1}' }, extra_content: { google: { thought_signature: 'U0lH' } } });
    const chunks: Json[] = [];
    new GeminiStreamTranslator('b', 'gemini-3-pro-preview', 0, false).frame({ event: undefined, data: JSON.stringify(answer) } as SseEvent, (_d, v) => chunks.push(v as Json));
    expect(chunks[0]!.choices[0].delta.tool_calls[0]).toMatchObject({ index: 0, extra_content: { google: { thought_signature: 'U0lH' } } });
    // Without a signature, no extra_content.
    const plain: Json = geminiCompletion({ candidates: [{ content: { parts: [{ functionCall: { name: 'lookup', args: {} } }] } }] }, 'gemini-2.5-flash', 0);
    expect(plain.choices[0].message.tool_calls[0]).not.toHaveProperty('extra_content');
  });

  it('the signature goes back on the functionCall part; a lost one on Gemini 3 is replaced by the skip value on the first call of the step only', () => {
    const kept: Json = geminiRequest({ messages: [user, { role: 'assistant', content: null, tool_calls: [call('U0lH'), call()] }] }, 'gemini-3-pro-preview');
    expect(kept.contents[1].parts.map((p: Json) => p.thoughtSignature)).toEqual(['U0lH', undefined]);
    const lost: Json = geminiRequest({ messages: [user, { role: 'assistant', content: null, tool_calls: [call(), call()] }] }, 'gemini-3-flash-preview');
    expect(lost.contents[1].parts.map((p: Json) => p.thoughtSignature)).toEqual([GEMINI_SKIP_SIGNATURE, undefined]);
    const older: Json = geminiRequest({ messages: [user, { role: 'assistant', content: null, tool_calls: [call()] }] }, 'gemini-2.5-flash');
    expect(older.contents[1].parts[0]).not.toHaveProperty('thoughtSignature');
  });
});

describe('reasoning through the optimizer', () => {
  let stack: Stack;
  let gemini: NativeUpstream;
  let anthropic: NativeUpstream;

  beforeAll(async () => {
    gemini = await startGeminiUpstream({ apiKey: 'g' });
    anthropic = await startAnthropicUpstream({ apiKey: 'a' });
    stack = await startStack({
      upstreams: {},
      extraBackends: [
        { id: 'gemini', provider: 'gemini', baseUrl: gemini.url, apiKeyEnv: 'G', models: ['gemini-3-pro-preview'] },
        { id: 'claude', provider: 'anthropic', baseUrl: anthropic.url, apiKeyEnv: 'A', models: ['claude-sonnet-4-5'] },
      ],
      env: { G: 'g', A: 'a' },
      config: { cache: { enabled: false }, dedupe: { enabled: false }, resilience: { retry: { maxAttempts: 1 } } },
    });
  });
  afterAll(async () => {
    await stack.close();
    await Promise.all([gemini.close(), anthropic.close()]);
  });

  const chat = async (body: Json) => {
    const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'reasoning' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  it('Gemini 3: the assistant tool call echoed as received keeps its signature; one that lost it still succeeds', async () => {
    const ask = [{ role: 'user', content: 'please call_tool now' }];
    const first = await chat({ model: 'gemini/gemini-3-pro-preview', messages: ask, tools: TOOLS });
    expect(first.status).toBe(200);
    const assistant = first.body.choices[0].message;
    const signature = assistant.tool_calls[0].extra_content.google.thought_signature;
    expect(typeof signature).toBe('string');

    const history = [...ask, assistant, { role: 'tool', tool_call_id: assistant.tool_calls[0].id, content: '42' }];
    const second = await chat({ model: 'gemini/gemini-3-pro-preview', messages: history, tools: TOOLS });
    expect(second.status).toBe(200);
    expect((gemini.last!.body as Json).contents[1].parts[0].thoughtSignature).toBe(signature);

    // A client that kept only id, name and arguments: the loopback (as Gemini 3) would refuse the bare call…
    const bare = { role: 'assistant', content: null, tool_calls: [{ id: assistant.tool_calls[0].id, type: 'function', function: assistant.tool_calls[0].function }] };
    const direct = await fetch(`${gemini.url}/models/gemini-3-pro-preview:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'g' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'x' }] }, { role: 'model', parts: [{ functionCall: { name: 'lookup', args: {} } }] }] }),
    });
    expect(direct.status).toBe(400);
    // …but through the optimizer it carries the skip value.
    const third = await chat({ model: 'gemini/gemini-3-pro-preview', messages: [...ask, bare, history[2]], tools: TOOLS });
    expect(third.status).toBe(200);
    expect((gemini.last!.body as Json).contents[1].parts[0].thoughtSignature).toBe(GEMINI_SKIP_SIGNATURE);
  });

  it('Anthropic: reasoning_effort inside a tool loop is answered without thinking (Anthropic would want the signed thinking block back)', async () => {
    const loop = [
      { role: 'user', content: 'please call_tool now' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: '42' },
    ];
    const answer = await chat({ model: 'claude/claude-sonnet-4-5', messages: loop, tools: TOOLS, reasoning_effort: 'high' });
    expect(answer.status).toBe(200);
    expect(answer.body.choices[0].message.content).toBe('tool said: 42');
    expect(anthropic.last!.body).not.toHaveProperty('thinking');
    // The same turn with thinking on is what Anthropic refuses.
    const refused = await fetch(`${anthropic.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'a', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...(anthropic.last!.body as Json), thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 4096 }),
    });
    expect(refused.status).toBe(400);
  });
});
