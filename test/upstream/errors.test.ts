import { describe, expect, it } from 'vitest';
import { OptimizerError } from '../../src/errors/registry.js';
import { upstreamFailure } from '../../src/upstream/errors.js';

/** An error as undici throws it: a class with a stable `code`. */
function undiciError(code: string, name = 'UndiciError', message = `undici says ${code}`): Error & { code: string } {
  const error = new Error(message) as Error & { code: string };
  error.name = name;
  error.code = code;
  return error;
}

describe('upstreamFailure', () => {
  it.each([
    ['UND_ERR_CONNECT_TIMEOUT', 'did not accept the connection in time'],
    ['UND_ERR_HEADERS_TIMEOUT', 'did not start answering in time'],
    ['UND_ERR_BODY_TIMEOUT', 'went silent in the middle of its answer'],
  ])('%s → UPSTREAM_TIMEOUT (504)', (code, says) => {
    const cause = undiciError(code);
    const error = upstreamFailure(cause, 'groq');
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(error.status).toBe(504);
    expect(error.message).toBe(`Backend groq ${says}.`);
    expect(error.details).toEqual({ backend: 'groq', cause: code });
    expect(error.cause).toBe(cause);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])(
    '%s → UPSTREAM_UNREACHABLE (502)',
    (code) => {
      const error = upstreamFailure(undiciError(code), 'ollama');
      expect(error.code).toBe('UPSTREAM_UNREACHABLE');
      expect(error.status).toBe(502);
      expect(error.message).toBe(`Backend ollama is unreachable (${code}).`);
      expect(error.details).toEqual({ backend: 'ollama', cause: code });
    },
  );

  it('UND_ERR_DESTROYED (the pool of a restarting backend) → BACKEND_UNAVAILABLE (503)', () => {
    const error = upstreamFailure(undiciError('UND_ERR_DESTROYED'), 'b');
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.status).toBe(503);
  });

  it('reads the code from `cause` (fetch wraps the socket error in a TypeError)', () => {
    const wrapped = new TypeError('fetch failed', { cause: undiciError('ECONNREFUSED') });
    const error = upstreamFailure(wrapped, 'b');
    expect(error.code).toBe('UPSTREAM_UNREACHABLE');
    expect(error.details).toEqual({ backend: 'b', cause: 'ECONNREFUSED' });
  });

  it('an abort → CANCELLED (499)', () => {
    for (const abort of [undiciError('UND_ERR_ABORTED', 'AbortError'), undiciError('ABORT_ERR', 'Error'), new DOMException('This operation was aborted', 'AbortError')]) {
      const error = upstreamFailure(abort, 'b');
      expect(error.code).toBe('CANCELLED');
      expect(error.status).toBe(499);
      expect(error.cause).toBe(abort);
    }
  });

  it('an abort seen through AbortController.abort()', () => {
    const controller = new AbortController();
    controller.abort();
    expect(upstreamFailure(controller.signal.reason, 'b').code).toBe('CANCELLED');
  });

  it('passes an OptimizerError through unchanged (e.g. the reason a pool was destroyed with)', () => {
    const original = new OptimizerError('BACKEND_UNAVAILABLE', 'Backend b is restarting.');
    expect(upstreamFailure(original, 'b')).toBe(original);
  });

  it('anything else → UPSTREAM_UNREACHABLE with its message', () => {
    const error = upstreamFailure(new RangeError('weird'), 'b');
    expect(error.code).toBe('UPSTREAM_UNREACHABLE');
    expect(error.message).toBe('Backend b failed: weird');
    expect(error.details).toEqual({ backend: 'b', cause: 'RangeError' });
    expect(upstreamFailure(undiciError('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), 'b').code).toBe('UPSTREAM_UNREACHABLE');
    expect(upstreamFailure('a string', 'b').message).toBe('Backend b failed: a string');
  });

  it('never puts the request (keys, bodies) into the error', () => {
    const cause = Object.assign(new Error('boom'), { code: 'ECONNRESET', headers: { authorization: 'Bearer sk-secret' }, body: '{"messages":[]}' });
    const error = upstreamFailure(cause, 'b');
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('sk-secret');
    expect(JSON.stringify(error.details)).not.toContain('messages');
  });

  it('regression: a rejection with undefined or null is mapped, not a TypeError', () => {
    for (const nothing of [undefined, null]) {
      let result: unknown;
      expect(() => {
        result = upstreamFailure(nothing, 'b');
      }).not.toThrow();
      expect(result).toBeInstanceOf(OptimizerError);
      expect((result as OptimizerError).code).toBe('UPSTREAM_UNREACHABLE');
    }
  });

  it('maps socket timeouts and AbortSignal.timeout to UPSTREAM_TIMEOUT', () => {
    expect(upstreamFailure(Object.assign(new Error('t'), { code: 'ETIMEDOUT' }), 'b').code).toBe('UPSTREAM_TIMEOUT');
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(upstreamFailure(timeout, 'b').code).toBe('UPSTREAM_TIMEOUT');
  });
});
