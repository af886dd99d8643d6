import { describe, expect, it } from 'vitest';
import { OpenAICompatibleAdapter } from '../../src/providers/openai-compatible.js';
import { applyRequestQuirks, fixAnswer, fixChunk, needsRequestQuirks, PROVIDER_QUIRKS, toolCallIdMap } from '../../src/providers/quirks.js';

type Json = Record<string, any>;

/** The body the adapter of `provider` sends for `body` (as JSON, so dropped fields are gone). */
function sent(provider: ConstructorParameters<typeof OpenAICompatibleAdapter>[0], body: Json, model = 'm'): Json {
  const adapter = new OpenAICompatibleAdapter(provider);
  return JSON.parse(adapter.prepare({ endpoint: 'chat.completions', body, model, stream: false }).body) as Json;
}

const user = { role: 'user', content: 'hi' };

describe('provider quirks on the way out', () => {
  it.each(['frequency_penalty', 'presence_penalty', 'logit_bias', 'parallel_tool_calls', 'service_tier'])('Cerebras: drops %s', (field) => {
    const body = { messages: [user], [field]: field === 'logit_bias' ? { 1: 1 } : field === 'service_tier' ? 'auto' : field === 'parallel_tool_calls' ? false : 0.5, temperature: 0 };
    const out = sent('cerebras', body);
    expect(out).not.toHaveProperty(field);
    expect(out.temperature).toBe(0);
  });

  it('Cerebras: tool_choice other than auto/none becomes auto; auto and none pass', () => {
    expect(sent('cerebras', { messages: [user], tool_choice: 'required' }).tool_choice).toBe('auto');
    expect(sent('cerebras', { messages: [user], tool_choice: { type: 'function', function: { name: 'f' } } }).tool_choice).toBe('auto');
    expect(sent('cerebras', { messages: [user], tool_choice: 'none' }).tool_choice).toBe('none');
  });

  it.each(['logprobs', 'logit_bias', 'top_logprobs'])('Groq: drops %s', (field) => {
    expect(sent('groq', { messages: [user], [field]: field === 'logit_bias' ? {} : field === 'logprobs' ? true : 2 })).not.toHaveProperty(field);
  });

  it('Groq: drops messages[].name, keeps the rest of the message', () => {
    const out = sent('groq', { messages: [{ role: 'user', content: 'hi', name: 'alice' }] });
    expect(out.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('Groq and Mistral: n = 1 is dropped; n > 1 is a capability they lack (fail over before any call)', () => {
    expect(sent('groq', { messages: [user], n: 1 })).not.toHaveProperty('n');
    expect(sent('mistral', { messages: [user], n: 1 })).not.toHaveProperty('n');
    for (const provider of ['groq', 'mistral'] as const) {
      const error = new OpenAICompatibleAdapter(provider).unsupported({ endpoint: 'chat.completions', body: { messages: [user], n: 2 }, model: 'm', stream: false }, 'b');
      expect(error?.code).toBe('CAPABILITY_UNSUPPORTED');
      expect(error?.param).toBe('n');
    }
    expect(new OpenAICompatibleAdapter('openai').unsupported({ endpoint: 'chat.completions', body: { n: 2 }, model: 'm', stream: false }, 'b')).toBeUndefined();
  });

  it('Mistral: max_completion_tokens becomes max_tokens; messages[].name dropped', () => {
    const out = sent('mistral', { messages: [{ role: 'user', content: 'hi', name: 'a' }], max_completion_tokens: 64 });
    expect(out.max_tokens).toBe(64);
    expect(out).not.toHaveProperty('max_completion_tokens');
    expect(out.messages[0]).not.toHaveProperty('name');
  });

  it('Mistral: strips assistant reasoning_content everywhere', () => {
    const out = sent('mistral', { messages: [user, { role: 'assistant', content: 'x', reasoning_content: 'r' }, user] });
    expect(out.messages[1]).toEqual({ role: 'assistant', content: 'x' });
  });

  it('Mistral: rewrites tool-call ids to [a-zA-Z0-9]{9}, the same in the assistant call and the tool message, stably', () => {
    const body: Json = {
      messages: [
        user,
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc_123', type: 'function', function: { name: 'f', arguments: '{}' } }, { id: 'Abc123xyz', type: 'function', function: { name: 'g', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_abc_123', content: '1' },
        { role: 'tool', tool_call_id: 'Abc123xyz', content: '2' },
      ],
    };
    const out = sent('mistral', body);
    const id = out.messages[1].tool_calls[0].id as string;
    expect(id).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(out.messages[2].tool_call_id).toBe(id);
    expect(out.messages[1].tool_calls[1].id).toBe('Abc123xyz'); // already valid: kept
    expect(out.messages[3].tool_call_id).toBe('Abc123xyz');
    expect(sent('mistral', body).messages[1].tool_calls[0].id).toBe(id); // same conversation, same id
    expect(body.messages[1].tool_calls[0].id).toBe('call_abc_123'); // the client's body is untouched
  });

  it("Mistral: drops a tool call's extra_content (Gemini 3's thought signature) from a conversation begun on Gemini", () => {
    const call = { id: 'Abc123xyz', type: 'function', function: { name: 'f', arguments: '{}' }, extra_content: { google: { thought_signature: 'sig' } } };
    const body: Json = { messages: [user, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: 'Abc123xyz', content: '1' }] };
    expect(needsRequestQuirks(body, 'm', PROVIDER_QUIRKS.mistral)).toBe(true);
    const out = sent('mistral', body);
    expect(out.messages[1].tool_calls[0]).toEqual({ id: 'Abc123xyz', type: 'function', function: { name: 'f', arguments: '{}' } });
    expect(call.extra_content).toBeDefined(); // the client's body is untouched
    // Providers that take it (Gemini's own OpenAI-compatible API, OpenAI) get it as it was.
    expect(sent('openai', body).messages[1].tool_calls[0].extra_content).toEqual({ google: { thought_signature: 'sig' } });
  });

  it('toolCallIdMap never maps two ids to one', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `call_${i}`);
    const map = toolCallIdMap(ids.map((id) => ({ role: 'tool', tool_call_id: id })));
    expect(new Set(map.values()).size).toBe(500);
  });

  it('DeepSeek: keeps reasoning_content on assistant tool-call turns, strips it elsewhere; max_completion_tokens → max_tokens', () => {
    const out = sent('deepseek', {
      max_completion_tokens: 10,
      messages: [
        user,
        { role: 'assistant', content: 'a', reasoning_content: 'plain turn' },
        user,
        { role: 'assistant', content: null, reasoning_content: 'tool turn', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content: 'r' },
      ],
    });
    expect(out.messages[1]).not.toHaveProperty('reasoning_content');
    expect(out.messages[3].reasoning_content).toBe('tool turn');
    expect(out.max_tokens).toBe(10);
  });

  it('Moonshot (Kimi): keeps reasoning_content on every assistant turn', () => {
    const out = sent('moonshot', { messages: [user, { role: 'assistant', content: 'a', reasoning_content: 'r' }, user] });
    expect(out.messages[1].reasoning_content).toBe('r');
  });

  it('OpenAI: reasoning models (o-series, gpt-5) get max_completion_tokens; others keep max_tokens', () => {
    expect(sent('openai', { messages: [user], max_tokens: 5 }, 'o3-mini')).toMatchObject({ max_completion_tokens: 5 });
    expect(sent('openai', { messages: [user], max_tokens: 5 }, 'o3-mini')).not.toHaveProperty('max_tokens');
    expect(sent('openai', { messages: [user], max_tokens: 5 }, 'gpt-5.1')).toMatchObject({ max_completion_tokens: 5 });
    expect(sent('openai', { messages: [user], max_tokens: 5 }, 'gpt-4o')).toMatchObject({ max_tokens: 5 });
  });

  it('xAI: reasoning_effort dropped on grok-3 / grok-4 (up to 4.2x), kept on grok-3-mini and grok-4.3', () => {
    for (const model of ['grok-3', 'grok-4', 'grok-4-0709', 'grok-4-fast-reasoning', 'grok-4-1-fast-non-reasoning', 'grok-4.20-0309-reasoning']) {
      expect(sent('xai', { messages: [user], reasoning_effort: 'low' }, model), model).not.toHaveProperty('reasoning_effort');
    }
    for (const model of ['grok-3-mini', 'grok-3-mini-fast', 'grok-4.3', 'grok-code-fast-1']) {
      expect(sent('xai', { messages: [user], reasoning_effort: 'low' }, model).reasoning_effort, model).toBe('low');
    }
  });

  it('xAI: penalties and stop dropped on reasoning models only', () => {
    const body = { messages: [user], presence_penalty: 0.5, frequency_penalty: 0.5, stop: ['x'] };
    for (const model of ['grok-3-mini', 'grok-4', 'grok-4-fast-reasoning']) {
      const out = sent('xai', body, model);
      for (const field of ['presence_penalty', 'frequency_penalty', 'stop']) expect(out, `${model} ${field}`).not.toHaveProperty(field);
    }
    expect(sent('xai', body, 'grok-4-fast-non-reasoning')).toMatchObject({ presence_penalty: 0.5, stop: ['x'] });
    expect(sent('xai', body, 'grok-2')).toMatchObject({ presence_penalty: 0.5, frequency_penalty: 0.5, stop: ['x'] });
    expect(needsRequestQuirks({ messages: [user], temperature: 1 }, 'grok-4', PROVIDER_QUIRKS.xai)).toBe(false);
  });

  it('a provider with no quirk that applies sends the client body with the model, unchanged otherwise', () => {
    const body = { messages: [{ role: 'user', content: 'hi', name: 'a' }], n: 3, logit_bias: { 1: 2 }, max_completion_tokens: 9 };
    expect(needsRequestQuirks(body, 'm', PROVIDER_QUIRKS['openai-compatible'])).toBe(false);
    expect(needsRequestQuirks({ messages: [user] }, 'm', PROVIDER_QUIRKS.groq)).toBe(false);
    expect(sent('vllm', body)).toEqual({ ...body, model: 'm' });
    expect(applyRequestQuirks(body, 'x', {embeddings: true})).toEqual({ ...body, model: 'x' });
  });

  it('embeddings: Cerebras, Groq, DeepSeek, Moonshot and xAI lack them (CAPABILITY_UNSUPPORTED); OpenAI, Mistral, Together have them', () => {
    const ask = (provider: ConstructorParameters<typeof OpenAICompatibleAdapter>[0]) =>
      new OpenAICompatibleAdapter(provider).unsupported({ endpoint: 'embeddings', body: { input: 'x' }, model: 'e', stream: false }, 'b')?.code;
    for (const p of ['cerebras', 'groq', 'deepseek', 'moonshot', 'xai'] as const) expect(ask(p)).toBe('CAPABILITY_UNSUPPORTED');
    for (const p of ['openai', 'mistral', 'together', 'vllm', 'ollama', 'openai-compatible'] as const) expect(ask(p)).toBeUndefined();
  });
});

describe('provider quirks on the way back', () => {
  it('Groq / OpenRouter / Ollama / vLLM: message.reasoning becomes reasoning_content', () => {
    for (const p of ['groq', 'openrouter', 'ollama', 'vllm'] as const) {
      const answer = { choices: [{ message: { role: 'assistant', content: 'x', reasoning: 'r' } }] };
      expect(fixAnswer(answer, PROVIDER_QUIRKS[p])).toBe(true);
      expect(answer.choices[0]!.message).toEqual({ role: 'assistant', content: 'x', reasoning_content: 'r' });
    }
  });

  it('stream deltas: delta.reasoning becomes reasoning_content; a chunk without it is left alone (no re-serialisation)', () => {
    const chunk: Json = { choices: [{ delta: { reasoning: 'r' } }] };
    expect(fixChunk(chunk, PROVIDER_QUIRKS.groq)).toBe(true);
    expect(chunk.choices[0].delta).toEqual({ reasoning_content: 'r' });
    expect(fixChunk({ choices: [{ delta: { content: 'c' } }] }, PROVIDER_QUIRKS.groq)).toBe(false);
  });

  it('OpenRouter: the usage chunk it always sends is dropped unless the client asked include_usage', () => {
    const adapter = new OpenAICompatibleAdapter('openrouter');
    const run = (body: Json) => {
      const translator = adapter.stream({ request: { endpoint: 'chat.completions', body, model: 'm', stream: true }, backendId: 'b', now: 0 });
      const out: Json[] = [];
      const emit = (_data: string, value: unknown) => out.push(value as Json);
      translator.frame({ data: '{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}', event: undefined }, emit);
      translator.frame({ data: '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"cost":0.1}}', event: undefined }, emit);
      expect(translator.frame({ data: '[DONE]', event: undefined }, emit)).toBe(true);
      return out;
    };
    expect(run({ messages: [user] }).map((c) => c.choices.length)).toEqual([1]);
    expect(run({ messages: [user], stream_options: { include_usage: true } }).at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 2 } });
  });

  it('providers without answer quirks relay the upstream bytes untouched (translates = false)', () => {
    for (const p of ['openai', 'cerebras', 'together', 'deepseek', 'mistral', 'openai-compatible'] as const) expect(new OpenAICompatibleAdapter(p).translates).toBe(false);
    expect(new OpenAICompatibleAdapter('groq').translates).toBe(true);
  });
});
