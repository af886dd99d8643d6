import { describe, expect, it } from 'vitest';
import { completedEventFields } from '../../src/gateway/completed-event.js';
import type { GatewayRequest, ResponseMeta } from '../../src/gateway/types.js';
import { AnswerUsage, answerTokens, estimateCompletionTokens, reportedTokens } from '../../src/gateway/usage.js';

const completion = (content: string, usage?: unknown) => ({
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  ...(usage === undefined ? {} : { usage }),
});

describe('AnswerUsage', () => {
  it('reads a JSON answer\'s usage', () => {
    const usage = new AnswerUsage();
    usage.json(completion('hi', { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }));
    expect(usage).toMatchObject({ promptTokens: 12, completionTokens: 3, answered: true });
  });

  it('estimates the completion of a JSON answer without usage (characters / 4)', () => {
    const usage = new AnswerUsage();
    usage.json(completion('x'.repeat(40)));
    expect(usage.promptTokens).toBeUndefined();
    expect(usage.completionTokens).toBeUndefined();
    expect(usage.estimatedCompletion).toBe(10);
  });

  it('takes a stream\'s usage chunk (include_usage) and counts content chunks otherwise', () => {
    const usage = new AnswerUsage();
    usage.chunk({ choices: [{ delta: { content: '' } }] });
    usage.chunk({ choices: [{ delta: { content: 'Hel' } }] });
    usage.chunk({ choices: [{ delta: { content: 'lo' } }] });
    usage.chunk({ choices: [{ delta: {} }] });
    expect(usage.estimatedCompletion).toBe(2);
    expect(usage.promptTokens).toBeUndefined();
    usage.chunk({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } });
    expect(usage).toMatchObject({ promptTokens: 9, completionTokens: 2 });
  });
});

describe('answerTokens (what a hit or a join saved)', () => {
  it('is the stored answer\'s usage, else estimates', () => {
    expect(answerTokens({ value: completion('a', { prompt_tokens: 5, completion_tokens: 1 }) }, () => 99)).toEqual({ tokensIn: 5, tokensOut: 1 });
    expect(answerTokens({ value: completion('x'.repeat(8), null) }, () => 7)).toEqual({ tokensIn: 7, tokensOut: 2 });
  });

  it('uses the tokens kept with a cached answer without reading its value', () => {
    const answer = {
      tokens: [undefined, 3] as [number | undefined, number],
      get value(): unknown {
        throw new Error('a cached answer with its tokens is not parsed');
      },
    };
    expect(answerTokens(answer, () => 11)).toEqual({ tokensIn: 11, tokensOut: 3 });
    expect(reportedTokens(completion('a', { prompt_tokens: 5, completion_tokens: 1 }))).toEqual([5, 1]);
    expect(reportedTokens(completion('x'.repeat(8), null))).toEqual([undefined, 2]);
    expect(estimateCompletionTokens({ choices: [{ message: { content: null, tool_calls: [{ function: { name: 'run', arguments: '{"a":1}' } }] } }] })).toBe(3);
  });
});

describe('request.completed fields', () => {
  const req = { requestId: 'r1', agentId: 'a', endpoint: 'chat.completions', stream: false, body: { messages: [{ role: 'user', content: 'x'.repeat(400) }] } } as unknown as GatewayRequest;
  const meta: ResponseMeta = { requestId: 'r1', backend: 'groq', model: 'groq/llama', routeReason: 'explicit', cache: 'miss', dedupe: 'leader' };

  it('carries the route, the outcome, the latency and the reported tokens of an upstream answer', () => {
    const usage = new AnswerUsage();
    usage.json(completion('hi', { prompt_tokens: 120, completion_tokens: 4 }));
    const fields = completedEventFields(req, meta, { outcome: 'ok', status: 200, latencyMs: 12.34567, usage, savedAnswer: undefined, promptTokens: undefined });
    expect(fields).toMatchObject({ requestId: 'r1', agentId: 'a', backend: 'groq', model: 'groq/llama', cache: 'miss', dedupe: 'leader', outcome: 'ok', status: 200, latencyMs: 12.346, tokensIn: 120, tokensOut: 4, tokensEstimated: false, stream: false });
    expect(fields.tokensSavedIn).toBeUndefined();
  });

  it('falls back to the prompt estimate when the backend reports no usage', () => {
    const usage = new AnswerUsage();
    usage.json(completion('x'.repeat(20)));
    const fields = completedEventFields(req, meta, { outcome: 'ok', status: 200, latencyMs: 1, usage, savedAnswer: undefined, promptTokens: undefined });
    expect(fields).toMatchObject({ tokensIn: 107, tokensOut: 5, tokensEstimated: true }); // 400 chars / 4 + 4 per message + 3 priming
  });

  it('spends no tokens on a hit, and says what it saved', () => {
    const fields = completedEventFields(req, { ...meta, cache: 'hit' }, {
      outcome: 'cache.hit',
      status: 200,
      latencyMs: 0.2,
      usage: undefined,
      savedAnswer: { value: completion('hi', { prompt_tokens: 120, completion_tokens: 4 }) },
      promptTokens: undefined,
    });
    expect(fields).toMatchObject({ tokensIn: 0, tokensOut: 0, tokensSavedIn: 120, tokensSavedOut: 4 });
  });

  it('has no route fields for a request that never got one', () => {
    const fields = completedEventFields(req, undefined, { outcome: 'MODEL_NOT_FOUND', status: 404, latencyMs: 0.1, usage: undefined, savedAnswer: undefined, promptTokens: undefined });
    expect(fields).toMatchObject({ outcome: 'MODEL_NOT_FOUND', status: 404, backend: undefined, model: undefined, tokensIn: 0 });
  });
});
