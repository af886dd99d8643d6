import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseRetryAfter, upstreamErrorMessage, upstreamHttpError } from '../../src/upstream/http-error.js';

/** Provider error bodies, as docs/reference/providers.md records them. */
const bodies = {
  openai: JSON.stringify({ error: { message: 'Unsupported value: temperature', type: 'invalid_request_error', param: 'temperature', code: 'unsupported_value' } }),
  anthropic: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_1' }),
  gemini: JSON.stringify({ error: { code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED', details: [] } }),
  ollama: JSON.stringify({ error: 'model "llama9" not found, try pulling it first' }),
  cerebras: JSON.stringify({ message: 'Rate limit exceeded', type: 'too_many_requests_error', param: 'quota', code: 'request_quota_exceeded' }),
  mistralString: JSON.stringify({ detail: 'Unauthorized' }),
  mistral422: JSON.stringify({ detail: [{ type: 'extra_forbidden', loc: ['body', 'n'], msg: 'Extra inputs are not permitted' }] }),
  openrouter: JSON.stringify({ error: { code: 402, message: 'Insufficient credits', metadata: { provider_name: 'x' } } }),
  vllm: JSON.stringify({ error: { message: 'max_tokens is too large', type: 'BadRequestError', param: null, code: 400 } }),
  moonshot: JSON.stringify({ error: { message: 'request reached organization max RPM: 20', type: 'rate_limit_reached_error' } }),
};

describe('upstreamErrorMessage', () => {
  it.each([
    ['OpenAI {error:{message}}', bodies.openai, 'Unsupported value: temperature'],
    ['Anthropic {type:error,error:{type,message}}', bodies.anthropic, 'Overloaded'],
    ['Gemini {error:{code,message,status}}', bodies.gemini, 'Resource has been exhausted'],
    ['Ollama {error:"..."}', bodies.ollama, 'model "llama9" not found, try pulling it first'],
    ['Cerebras flat {message,type,param,code}', bodies.cerebras, 'Rate limit exceeded'],
    ['Mistral {detail:"..."}', bodies.mistralString, 'Unauthorized'],
    ['OpenRouter {error:{code:<number>,message}}', bodies.openrouter, 'Insufficient credits'],
    ['vLLM {error:{message,code:int}}', bodies.vllm, 'max_tokens is too large'],
    ['Moonshot {error:{message,type}}', bodies.moonshot, 'request reached organization max RPM: 20'],
  ])('reads %s', (_shape, text, message) => {
    expect(upstreamErrorMessage(text)).toBe(message);
  });

  it('reads Mistral’s 422 {detail:[…]} as the JSON of the detail', () => {
    const message = upstreamErrorMessage(bodies.mistral422);
    expect(message).toBe(JSON.stringify(JSON.parse(bodies.mistral422).detail));
    expect(message).toContain('extra_forbidden');
  });

  it('prefers error.message over a top-level message', () => {
    expect(upstreamErrorMessage(JSON.stringify({ message: 'outer', error: { message: 'inner' } }))).toBe('inner');
  });

  it('falls back to the trimmed text, at most 500 characters, when the body is not a known shape', () => {
    expect(upstreamErrorMessage('  Bad Gateway\n')).toBe('Bad Gateway');
    expect(upstreamErrorMessage('<html>502</html>')).toBe('<html>502</html>');
    expect(upstreamErrorMessage('x'.repeat(2000))).toBe('x'.repeat(500));
    expect(upstreamErrorMessage('{"unexpected":true}')).toBe('{"unexpected":true}');
    expect(upstreamErrorMessage('{"error":{"code":500}}')).toBe('{"error":{"code":500}}');
    expect(upstreamErrorMessage('null')).toBe('null');
    expect(upstreamErrorMessage('[{"error":{"message":"streamed"}}]')).toBe('[{"error":{"message":"streamed"}}]');
  });

  it('has nothing to say about an empty body', () => {
    expect(upstreamErrorMessage('')).toBeUndefined();
    expect(upstreamErrorMessage(' \n\t')).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads seconds', () => {
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });

  it('reads an HTTP date, relative to now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:42 GMT', now)).toBe(42_000);
  });

  it('never answers a negative wait', () => {
    expect(parseRetryAfter('-5', now)).toBe(0);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['2', '9'], now)).toBe(2000);
  });

  it('has no answer for a missing or unreadable header', () => {
    for (const value of [undefined, '', 'soon', 'Infinity', []]) expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('upstreamHttpError', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('429: UPSTREAM_RATE_LIMITED (429) with retry-after seconds as retryAfterMs', () => {
    const error = upstreamHttpError(429, { 'retry-after': '7' }, bodies.gemini, 'gemini');
    expect(error.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(error.status).toBe(429);
    expect(error.type).toBe('rate_limit_error');
    expect(error.retryAfterMs).toBe(7000);
    expect(error.message).toBe('Backend gemini is rate limiting: Resource has been exhausted');
    expect(error.details).toEqual({ backend: 'gemini', upstreamStatus: 429 });
  });

  it('429: retry-after as an HTTP date', () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-01T12:00:00Z') });
    const error = upstreamHttpError(429, { 'retry-after': 'Sun, 01 Mar 2026 12:00:05 GMT' }, bodies.anthropic, 'anthropic');
    expect(error.retryAfterMs).toBe(5000);
  });

  it('429 without (or with an unreadable) retry-after has no retryAfterMs', () => {
    expect(upstreamHttpError(429, {}, bodies.moonshot, 'kimi').retryAfterMs).toBeUndefined();
    expect(upstreamHttpError(429, { 'retry-after': 'later' }, bodies.moonshot, 'kimi').retryAfterMs).toBeUndefined();
  });

  it.each([401, 403])('%d: UPSTREAM_AUTH_FAILED as a 502 (the optimizer’s key, not the caller’s)', (status) => {
    const error = upstreamHttpError(status, {}, bodies.openai, 'openai');
    expect(error.code).toBe('UPSTREAM_AUTH_FAILED');
    expect(error.status).toBe(502);
    expect(error.type).toBe('api_error');
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.details).toEqual({ backend: 'openai', upstreamStatus: status });
  });

  it.each([400, 404, 413, 422])('%d: UPSTREAM_REJECTED keeping the status and the provider’s message', (status) => {
    const error = upstreamHttpError(status, {}, bodies.openai, 'openai');
    expect(error.code).toBe('UPSTREAM_REJECTED');
    expect(error.status).toBe(status);
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toBe('Backend openai rejected the request: Unsupported value: temperature');
    expect(error.details).toEqual({ backend: 'openai', upstreamStatus: status });
  });

  it('Mistral 422 extra_forbidden is passed on as a 422', () => {
    const error = upstreamHttpError(422, {}, bodies.mistral422, 'mistral');
    expect(error.code).toBe('UPSTREAM_REJECTED');
    expect(error.status).toBe(422);
    expect(error.message).toContain('extra_forbidden');
  });

  it('OpenRouter 402 (credits) is the optimizer’s account problem: UPSTREAM_ERROR 502, not the caller’s fault', () => {
    const error = upstreamHttpError(402, {}, bodies.openrouter, 'openrouter');
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.status).toBe(502);
    expect(error.message).toContain('Insufficient credits');
  });

  it.each([500, 502, 503, 504, 529, 408])('%d: UPSTREAM_ERROR (502)', (status) => {
    const error = upstreamHttpError(status, { 'retry-after': '3' }, bodies.anthropic, 'anthropic');
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.status).toBe(502);
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.message).toBe(`Backend anthropic failed (HTTP ${status}): Overloaded`);
    expect(error.details).toEqual({ backend: 'anthropic', upstreamStatus: status });
  });

  it('Ollama’s string error reaches the message', () => {
    expect(upstreamHttpError(404, {}, bodies.ollama, 'ollama').message).toBe('Backend ollama rejected the request: model "llama9" not found, try pulling it first');
  });

  it('an empty body gives the status as the message', () => {
    expect(upstreamHttpError(503, {}, '', 'vllm').message).toBe('Backend vllm failed (HTTP 503): HTTP 503');
    expect(upstreamHttpError(400, {}, '', 'vllm').message).toBe('Backend vllm rejected the request: HTTP 400');
  });
});
