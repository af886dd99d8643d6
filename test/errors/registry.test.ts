import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ERRORS, OptimizerError, RETIRED_CODES, toOptimizerError, type ErrorCode, type OpenAIErrorType } from '../../src/errors/registry.js';

const codes = Object.keys(ERRORS) as ErrorCode[];
const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** The rows of docs/errors.md's code tables: code → [HTTP cell, type cell]. */
function documentedRows(): Map<string, { http: string; type: string }> {
  const rows = new Map<string, { http: string; type: string }>();
  for (const line of docs.split('\n')) {
    const match = /^\|\s*`([A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|/.exec(line);
    if (!match) continue;
    const [, code = '', http = '', type = ''] = match;
    expect(rows.has(code), `${code} is documented twice`).toBe(false);
    rows.set(code, { http: http.trim(), type: type.trim().replace(/`/g, '') });
  }
  return rows;
}

describe('error registry', () => {
  it('pins the codes and their statuses (changing one is a breaking change: retire, do not edit)', () => {
    const statuses = Object.fromEntries(codes.map((code) => [code, ERRORS[code].status]));
    expect(statuses).toEqual({
      INVALID_JSON: 400,
      INVALID_REQUEST: 400,
      UNSUPPORTED_MEDIA_TYPE: 415,
      BODY_TOO_LARGE: 413,
      NOT_FOUND: 404,
      METHOD_NOT_ALLOWED: 405,
      MODEL_NOT_FOUND: 404,
      BACKEND_NOT_FOUND: 404,
      SESSIONS_EXHAUSTED: 503,
      REQUEST_TIMEOUT: 408,
      MISSING_API_KEY: 401,
      INVALID_API_KEY: 401,
      ADMIN_FORBIDDEN: 403,
      FAULT_INJECTION_DISABLED: 403,
      INVALID_FRAME: 400,
      NOT_WELCOMED: 400,
      DUPLICATE_REQUEST_ID: 409,
      UNKNOWN_REQUEST_ID: 404,
      CANCELLED: 499,
      FRAME_TOO_LARGE: 413,
      RATE_LIMITED: 429,
      UPSTREAM_ERROR: 502,
      UPSTREAM_REJECTED: 400,
      UPSTREAM_AUTH_FAILED: 502,
      UPSTREAM_RATE_LIMITED: 429,
      UPSTREAM_UNREACHABLE: 502,
      UPSTREAM_TIMEOUT: 504,
      UPSTREAM_BAD_RESPONSE: 502,
      UPSTREAM_STREAM_ERROR: 502,
      BACKEND_UNAVAILABLE: 503,
      BACKEND_DISABLED: 503,
      ALL_BACKENDS_FAILED: 502,
      DLQ_NOT_FOUND: 404,
      DLQ_UNAVAILABLE: 503,
      NO_BACKENDS: 503,
      CAPABILITY_UNSUPPORTED: 400,
      NO_BACKEND_REACHABLE: 503,
      SHUTTING_DOWN: 503,
      INTERNAL: 500,
    });
  });

  it('codes are UPPER_SNAKE_CASE', () => {
    for (const code of codes) expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  it.each(codes)('%s has an error status (400-599) that HTTP knows, 499 only for CANCELLED', (code) => {
    const { status } = ERRORS[code];
    expect(Number.isInteger(status)).toBe(true);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThanOrEqual(599);
    if (code === 'CANCELLED') expect(status).toBe(499);
    else expect(STATUS_CODES[status], `${code}: ${status} is not a standard status`).toBeDefined();
  });

  it.each(codes)('%s has a one-sentence description', (code) => {
    const { description } = ERRORS[code];
    expect(description.trim().length).toBeGreaterThan(10);
    expect(description).toMatch(/^[A-Z`].*\.$/s);
  });

  it.each(codes)('%s has an OpenAI type that suits its status', (code) => {
    const { status, type } = ERRORS[code];
    const expected: Record<number, OpenAIErrorType> = { 401: 'authentication_error', 403: 'permission_error', 429: 'rate_limit_error' };
    if (expected[status] !== undefined) expect(type).toBe(expected[status]);
    else if (status >= 500) expect(['api_error', 'server_error']).toContain(type);
    else expect(['invalid_request_error', 'not_found_error']).toContain(type);
  });

  it('never reuses a retired code, and lists each retired code once', () => {
    expect(new Set(RETIRED_CODES).size).toBe(RETIRED_CODES.length);
    for (const retired of RETIRED_CODES) expect(codes).not.toContain(retired);
  });

  describe('docs/errors.md', () => {
    const rows = documentedRows();

    it.each(codes)('documents %s with the registry’s status and type', (code) => {
      const row = rows.get(code);
      expect(row, `${code} is missing from docs/errors.md`).toBeDefined();
      expect(row?.http.startsWith(String(ERRORS[code].status))).toBe(true);
      expect(row?.type).toBe(ERRORS[code].type);
    });

    it('documents no code that the registry does not have (or has retired)', () => {
      for (const code of rows.keys()) expect(codes).toContain(code);
    });

    it('describes the three error shapes', () => {
      expect(docs).toContain('retry_after_ms');
      expect(docs).toContain('request_id');
      expect(docs).toContain('retry-after');
      expect(docs).toContain('[DONE]');
      expect(docs).toContain('"type":"error"');
    });
  });
});

describe('OptimizerError', () => {
  it('takes status and type from the registry', () => {
    const error = new OptimizerError('MODEL_NOT_FOUND', 'no such model', { param: 'model', details: { model: 'x' } });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('OptimizerError');
    expect(error.message).toBe('no such model');
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.status).toBe(404);
    expect(error.type).toBe('not_found_error');
    expect(error.param).toBe('model');
    expect(error.details).toEqual({ model: 'x' });
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.cause).toBeUndefined();
  });

  it('lets a passed-through upstream status override the registry status, and carries retryAfterMs and cause', () => {
    const cause = new Error('socket');
    const error = new OptimizerError('UPSTREAM_REJECTED', 'nope', { status: 422, retryAfterMs: 1500, cause });
    expect(error.status).toBe(422);
    expect(error.type).toBe('invalid_request_error');
    expect(error.retryAfterMs).toBe(1500);
    expect(error.cause).toBe(cause);
  });
});

describe('toOptimizerError', () => {
  it('passes an OptimizerError through', () => {
    const error = new OptimizerError('RATE_LIMITED', 'slow down');
    expect(toOptimizerError(error)).toBe(error);
  });

  it.each([new TypeError('x is undefined'), 'a string', undefined, null, { code: 'ECONNRESET' }])('wraps %j as INTERNAL (500), keeping it only as the cause', (thrown) => {
    const error = toOptimizerError(thrown);
    expect(error.code).toBe('INTERNAL');
    expect(error.status).toBe(500);
    expect(error.type).toBe('server_error');
    expect(error.message).toBe('Internal error in the optimizer.');
    expect(error.cause).toBe(thrown);
  });

  it('does not leak the wrapped error’s message to the client', () => {
    expect(toOptimizerError(new Error('password=hunter2')).message).not.toContain('hunter2');
  });
});
