import { describe, expect, it } from 'vitest';
import type { ChunkSink, StreamTranslator } from '../../src/providers/adapter.js';
import { anthropicRequest, DEFAULT_MAX_TOKENS } from '../../src/providers/anthropic/request.js';
import { openAICompletion as anthropicCompletion } from '../../src/providers/anthropic/response.js';
import { AnthropicStreamTranslator } from '../../src/providers/anthropic/stream.js';
import { anthropicHttpError } from '../../src/providers/anthropic/errors.js';
import { geminiRequest } from '../../src/providers/gemini/request.js';
import { openAICompletion as geminiCompletion } from '../../src/providers/gemini/response.js';
import { GeminiStreamTranslator } from '../../src/providers/gemini/stream.js';
import { geminiHttpError } from '../../src/providers/gemini/errors.js';
import { geminiEmbeddingCall, openAIEmbeddings } from '../../src/providers/gemini/embeddings.js';
import { ollamaChatRequest } from '../../src/providers/ollama/request.js';
import { openAICompletion as ollamaCompletion } from '../../src/providers/ollama/response.js';
import { OllamaStreamTranslator } from '../../src/providers/ollama/stream.js';
import { createNdjsonParser } from '../../src/providers/ndjson.js';
import { OpenAIStreamTranslator } from '../../src/providers/openai-stream.js';
import { parseSse } from '../../src/providers/sse.js';
import { OptimizerError } from '../../src/errors/registry.js';

type Json = Record<string, any>;

/** Runs SSE text through a translator: the chunks, whether it completed, and what it threw. */
function runSse(translator: StreamTranslator, text: string): { chunks: Json[]; done: boolean; error?: OptimizerError } {
  const chunks: Json[] = [];
  const emit: ChunkSink = (data, value) => {
    expect(JSON.parse(data)).toEqual(value);
    chunks.push(value as Json);
  };
  try {
    for (const event of parseSse(text)) if (translator.frame(event, emit)) return { chunks, done: true };
    return { chunks, done: translator.end(emit) };
  } catch (error) {
    return { chunks, done: false, error: error as OptimizerError };
  }
}

const sse = (...events: [string, Json][]) => events.map(([type, data]) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`).join('');

describe('Anthropic translation', () => {
  it('puts system messages top-level, requires max_tokens, maps tools, tool_choice and tool turns, merges same-role turns', () => {
    const out = anthropicRequest(
      {
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
          { role: 'assistant', content: 'calling', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"q":1}' } }] },
          { role: 'tool', tool_call_id: 't1', content: 'r1' },
          { role: 'user', content: 'more' },
        ],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        tool_choice: 'required',
        parallel_tool_calls: false,
        temperature: 1.7,
        stop: 'END',
        stream_options: { include_usage: true },
      },
      'claude',
      true,
    );
    expect(out.system).toBe('sys');
    expect(out.max_tokens).toBe(DEFAULT_MAX_TOKENS);
    expect(out.temperature).toBe(1);
    expect(out.stop_sequences).toEqual(['END']);
    expect(out.stream).toBe(true);
    expect(out).not.toHaveProperty('stream_options');
    expect(out.tools).toEqual([{ name: 'f', input_schema: { type: 'object' } }]);
    expect(out.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    const messages = out.messages as Json[];
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[0]!.content[1]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } });
    expect(messages[1]!.content[1]).toEqual({ type: 'tool_use', id: 't1', name: 'f', input: { q: 1 } });
    expect(messages[2]!.content).toEqual([{ type: 'tool_result', tool_use_id: 't1', content: 'r1' }, { type: 'text', text: 'more' }]);
    expect(anthropicRequest({ messages: [], max_completion_tokens: 7 }, 'c', false).max_tokens).toBe(7);
  });

  it('translates an answer: text, thinking → reasoning_content, tool_use → tool_calls with string arguments, usage with cache reads', () => {
    const out = anthropicCompletion(
      {
        id: 'msg_1',
        model: 'claude',
        content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'text', text: 'hi' }, { type: 'tool_use', id: 'tu', name: 'f', input: { a: 1 } }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 2, cache_read_input_tokens: 3 },
      },
      'claude',
      1_700_000_000_000,
    );
    expect(out.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: 'hi', reasoning_content: 'hmm', tool_calls: [{ id: 'tu', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, logprobs: null, finish_reason: 'tool_calls' },
    ]);
    expect(out.usage).toEqual({ prompt_tokens: 15, completion_tokens: 5, total_tokens: 20, prompt_tokens_details: { cached_tokens: 3 } });
    expect(out.created).toBe(1_700_000_000);
  });

  it('streams: holds message_start, skips ping, maps deltas, takes the cumulative usage of message_delta', () => {
    const text = sse(
      ['message_start', { message: { id: 'm1', model: 'claude', usage: { input_tokens: 9, output_tokens: 1 } } }],
      ['ping', {}],
      ['content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }],
      ['content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'th' } }],
      ['content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 's' } }],
      ['content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'tu1', name: 'f', input: {} } }],
      ['content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"a"' } }],
      ['ping', {}],
      ['content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: ':1}' } }],
      ['message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 4 } }],
      ['message_delta', { delta: {}, usage: { output_tokens: 7 } }],
      ['message_stop', {}],
    );
    const { chunks, done } = runSse(new AnthropicStreamTranslator('b', 'claude', 1, true), text);
    expect(done).toBe(true);
    expect(chunks[0]!.choices[0].delta).toEqual({ role: 'assistant', reasoning_content: 'th' });
    expect(chunks[1]!.choices[0].delta.tool_calls[0]).toEqual({ index: 0, id: 'tu1', type: 'function', function: { name: 'f', arguments: '' } });
    expect(chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []).map((t: Json) => t.function.arguments).join('')).toBe('{"a":1}');
    expect(chunks.find((c) => c.choices[0]?.finish_reason)!.choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('an error event right after message_start throws before any chunk (so delivery can fail over)', () => {
    const text = sse(['message_start', { message: { id: 'm', usage: {} } }], ['error', { error: { type: 'overloaded_error', message: 'Overloaded' } }]);
    const { chunks, error } = runSse(new AnthropicStreamTranslator('b', 'c', 1, false), text);
    expect(chunks).toEqual([]);
    expect(error?.code).toBe('UPSTREAM_ERROR');
    expect(error?.details?.upstreamStatus).toBe(529);
  });

  it('a stream cut before message_delta is not complete', () => {
    const text = sse(['message_start', { message: { id: 'm', usage: {} } }], ['content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x' } }]);
    expect(runSse(new AnthropicStreamTranslator('b', 'c', 1, false), text).done).toBe(false);
  });

  it('errors: 429 honours retry-after; the spend-limit 429 is a hard quota; 529 is a retryable upstream error', () => {
    const limited = anthropicHttpError(429, { 'retry-after': '7' }, JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }), 'b');
    expect(limited.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(limited.retryAfterMs).toBe(7000);
    const spent = anthropicHttpError(429, {}, JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'x', details: { error_code: 'enforced_spend_limit_reached' } } }), 'b');
    expect(spent.details).toMatchObject({ nonRetryable: true, hardQuota: 'enforced_spend_limit_reached' });
    expect(anthropicHttpError(529, {}, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), 'b').code).toBe('UPSTREAM_ERROR');
  });
});

describe('Gemini translation', () => {
  it('builds contents, systemInstruction, generationConfig and function declarations, sending no unknown field', () => {
    const out = geminiRequest({
      messages: [
        { role: 'developer', content: 'sys' },
        { role: 'user', content: 'q' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"x":2}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
      ],
      tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      temperature: 0.2,
      max_completion_tokens: 50,
      n: 2,
      seed: 3,
      response_format: { type: 'json_object' },
      stream_options: { include_usage: true },
      user: 'u',
    });
    expect(Object.keys(out).sort()).toEqual(['contents', 'generationConfig', 'systemInstruction', 'toolConfig', 'tools']);
    expect(out.systemInstruction).toEqual({ parts: [{ text: 'sys' }] });
    expect(out.contents).toEqual([
      { role: 'user', parts: [{ text: 'q' }] },
      { role: 'model', parts: [{ functionCall: { name: 'f', args: { x: 2 } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'f', response: { ok: true } } }] },
    ]);
    expect(out.generationConfig).toEqual({ temperature: 0.2, maxOutputTokens: 50, candidateCount: 2, seed: 3, responseMimeType: 'application/json' });
    expect(out.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] } });
  });

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['OTHER', 'stop'],
  ])('maps finishReason %s to %s', (reason, expected) => {
    const out = geminiCompletion({ candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: reason }] }, 'g', 0) as Json;
    expect(out.choices[0].finish_reason).toBe(expected);
  });

  it('translates an answer: thought parts → reasoning_content, parts holding only a thoughtSignature ignored, functionCall → tool_calls, usage', () => {
    const out = geminiCompletion(
      {
        responseId: 'r1',
        candidates: [{ content: { role: 'model', parts: [{ text: 'hm', thought: true }, { functionCall: { name: 'f', args: { a: 1 } } }, { thoughtSignature: 'c2ln' }] }, finishReason: 'STOP' }],
        usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, thoughtsTokenCount: 3, totalTokenCount: 9 },
      },
      'g',
      0,
    ) as Json;
    expect(out.choices[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: null, reasoning_content: 'hm', tool_calls: [{ id: 'call_r1_0', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
    expect(out.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9, completion_tokens_details: { reasoning_tokens: 3 } });
  });

  it('a blocked prompt (no candidates) is a content_filter answer', () => {
    expect((geminiCompletion({ promptFeedback: { blockReason: 'SAFETY' } }, 'g', 0) as Json).choices[0]).toMatchObject({ finish_reason: 'content_filter' });
  });

  it('streams: no [DONE]; complete when a finishReason was seen, cut otherwise; an error array fails the stream', () => {
    const frame = (v: unknown) => `data: ${JSON.stringify(v)}\r\n\r\n`;
    const ok = frame({ responseId: 'r', candidates: [{ content: { parts: [{ text: 'he' }] } }] }) + frame({ candidates: [{ content: { parts: [{ text: 'y' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 } });
    const done = runSse(new GeminiStreamTranslator('b', 'g', 0, true), ok);
    expect(done.done).toBe(true);
    expect(done.chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('hey');
    expect(done.chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 3 } });
    const cut = frame({ candidates: [{ content: { parts: [{ text: 'he' }] } }] });
    expect(runSse(new GeminiStreamTranslator('b', 'g', 0, false), cut).done).toBe(false);
    const failed = runSse(new GeminiStreamTranslator('b', 'g', 0, false), cut + frame([{ error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } }]));
    expect(failed.error?.code).toBe('UPSTREAM_ERROR');
    expect(failed.error?.message).toContain('overloaded');
  });

  it('errors: RESOURCE_EXHAUSTED takes its wait from RetryInfo; a per-day quota is never retried; API_KEY_INVALID is our key', () => {
    const body = (quotaId: string) =>
      JSON.stringify({ error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId }] }, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' }] } });
    const perMinute = geminiHttpError(429, {}, body('GenerateRequestsPerMinutePerProject'), 'b');
    expect(perMinute.retryAfterMs).toBe(12_000);
    expect(perMinute.details?.nonRetryable).toBeUndefined();
    expect(geminiHttpError(429, {}, body('GenerateRequestsPerDayPerProject'), 'b').details).toMatchObject({ nonRetryable: true });
    const key = geminiHttpError(400, {}, JSON.stringify([{ error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT', details: [{ reason: 'API_KEY_INVALID' }] } }]), 'b');
    expect(key.code).toBe('UPSTREAM_AUTH_FAILED');
    expect(geminiHttpError(400, {}, JSON.stringify({ error: { code: 400, message: 'Unknown name "x"', status: 'INVALID_ARGUMENT' } }), 'b').code).toBe('UPSTREAM_REJECTED');
  });

  it('embeddings: one input → embedContent, a list → batchEmbedContents; answers as floats or base64 float32', () => {
    expect(geminiEmbeddingCall({ input: 'a', dimensions: 4 }, 'gemini-embedding-001')).toEqual({ path: '/models/gemini-embedding-001:embedContent', body: { content: { parts: [{ text: 'a' }] }, outputDimensionality: 4 } });
    expect(geminiEmbeddingCall({ input: ['a', 'b'] }, 'models/e').body).toEqual({ requests: [{ model: 'models/e', content: { parts: [{ text: 'a' }] } }, { model: 'models/e', content: { parts: [{ text: 'b' }] } }] });
    const floats = openAIEmbeddings({ embeddings: [{ values: [0.5, 1] }] }, {}, 'e', 'b');
    expect(floats.data).toEqual([{ object: 'embedding', index: 0, embedding: [0.5, 1] }]);
    const base64 = openAIEmbeddings({ embedding: { values: [0.5] } }, { encoding_format: 'base64' }, 'e', 'b') as Json;
    expect(Buffer.from(base64.data[0].embedding, 'base64').readFloatLE(0)).toBe(0.5);
  });
});

describe('Ollama native translation', () => {
  it('sends tool-call arguments as objects, names tool results, puts sampling in options', () => {
    const out = ollamaChatRequest(
      {
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
          { role: 'tool', tool_call_id: 'c', content: 'r' },
        ],
        max_tokens: 20,
        temperature: 0,
        stop: ['x'],
        response_format: { type: 'json_object' },
      },
      'llama3.2',
      true,
    );
    expect(out.messages).toEqual([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] },
      { role: 'tool', content: 'r', tool_name: 'f' },
    ]);
    expect(out.options).toEqual({ temperature: 0, num_predict: 20, stop: ['x'] });
    expect(out.format).toBe('json');
    expect(out.stream).toBe(true);
  });

  it('translates an answer: object arguments → strings, thinking → reasoning_content, counts → usage (durations ignored)', () => {
    const out = ollamaCompletion(
      { model: 'llama3.2', message: { role: 'assistant', content: '', thinking: 't', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] }, done: true, done_reason: 'stop', prompt_eval_count: 3, eval_count: 4, total_duration: 9_000_000 },
      'llama3.2',
      0,
      'id1',
    ) as Json;
    expect(out.choices[0].message).toEqual({ role: 'assistant', content: null, reasoning_content: 't', tool_calls: [{ id: 'call_id1_0', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] });
    expect(out.choices[0].finish_reason).toBe('tool_calls');
    expect(out.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  it('streams NDJSON to chunks; the done line ends it; an error line on a 200 fails it', () => {
    const lines = [
      { message: { role: 'assistant', content: 'he' }, done: false },
      { message: { role: 'assistant', content: 'y' }, done: false },
      { message: { role: 'assistant', content: '' }, done: true, done_reason: 'length', prompt_eval_count: 1, eval_count: 2 },
    ];
    const translator = new OllamaStreamTranslator('b', 'm', 'id', 0, true);
    const chunks: Json[] = [];
    let done = false;
    for (const line of lines) done = translator.frame({ event: undefined, data: JSON.stringify(line) }, (_d, v) => chunks.push(v as Json));
    expect(done).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('hey');
    expect(chunks.find((c) => c.choices[0]?.finish_reason)!.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 3 } });
    expect(() => new OllamaStreamTranslator('b', 'm', 'id', 0, false).frame({ event: undefined, data: '{"error":"runner died"}' }, () => undefined)).toThrow(/runner died/);
    expect(new OllamaStreamTranslator('b', 'm', 'id', 0, false).end()).toBe(false);
  });

  it('the NDJSON splitter keeps lines split across chunks (and multi-byte characters), skips blank lines, flushes a last unterminated line', () => {
    const lines: string[] = [];
    const parser = createNdjsonParser((line) => lines.push(line));
    const bytes = Buffer.from('{"a":"é"}\r\n\n{"b":1}\n{"c":2}');
    for (let i = 0; i < bytes.length; i += 3) parser.push(bytes.subarray(i, i + 3));
    parser.end();
    expect(lines).toEqual(['{"a":"é"}', '{"b":1}', '{"c":2}']);
  });
});

describe('OpenAI-compatible streams', () => {
  it("DeepSeek's `: keep-alive` and OpenRouter's `: OPENROUTER PROCESSING` comments never reach the translator", () => {
    const text = ': keep-alive\n\n: OPENROUTER PROCESSING\n\ndata: {"choices":[{"delta":{"content":"a"}}]}\n\n: keep-alive\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
    const { chunks, done } = runSse(new OpenAIStreamTranslator('b'), text);
    expect(done).toBe(true);
    expect(chunks).toHaveLength(2);
  });

  it("OpenRouter's in-stream error (data with an error field) fails the stream", () => {
    const { error } = runSse(new OpenAIStreamTranslator('b'), 'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"error":{"code":502,"message":"provider down"}}\n\n');
    expect(error?.code).toBe('UPSTREAM_STREAM_ERROR');
    expect(error?.message).toContain('provider down');
  });

  it("Groq: a usage chunk is made from x_groq.usage when the client asked for include_usage", () => {
    const text = 'data: {"id":"x","choices":[{"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{"total_tokens":5}}}\n\ndata: [DONE]\n\n';
    const { chunks } = runSse(new OpenAIStreamTranslator('b', undefined, true), text);
    expect(chunks.at(-1)).toEqual({ id: 'x', object: 'chat.completion.chunk', created: undefined, model: undefined, choices: [], usage: { total_tokens: 5 } });
    expect(runSse(new OpenAIStreamTranslator('b'), text).chunks).toHaveLength(1);
  });
});
