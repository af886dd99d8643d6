/**
 * The one registry of error codes. Clients match on `code`, never on the message.
 * A code, once published, keeps its meaning; a retired code is never reused
 * (list it in RETIRED_CODES). `test/errors/registry.test.ts` pins this file and
 * checks that every code is documented in docs/errors.md.
 */

/** OpenAI's error `type` vocabulary, which SDKs map to exception classes. */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'api_error';

export interface ErrorDefinition {
  /** HTTP status this error is answered with. */
  status: number;
  type: OpenAIErrorType;
  /** One sentence for the docs; the thrown error carries its own specific message. */
  description: string;
}

export const ERRORS = {
  // ── request input ──────────────────────────────────────────────────────────
  INVALID_JSON: { status: 400, type: 'invalid_request_error', description: 'The request body is not valid JSON.' },
  INVALID_REQUEST: {
    status: 400,
    type: 'invalid_request_error',
    description: 'A field is missing, has the wrong type, or has a value out of range; `param` names it.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    type: 'invalid_request_error',
    description: 'The request body is not `application/json`.',
  },
  BODY_TOO_LARGE: {
    status: 413,
    type: 'invalid_request_error',
    description: 'The request body is larger than `server.maxBodyBytes`.',
  },
  NOT_FOUND: { status: 404, type: 'not_found_error', description: 'No such path.' },
  METHOD_NOT_ALLOWED: { status: 405, type: 'invalid_request_error', description: 'The path exists but not for this method.' },
  MODEL_NOT_FOUND: {
    status: 404,
    type: 'not_found_error',
    description: 'The model is not a configured `backend/model`, alias or `auto`, or the pinned backend does not serve it.',
  },
  BACKEND_NOT_FOUND: { status: 404, type: 'not_found_error', description: 'The `x-backend` header names no configured backend.' },
  SESSIONS_EXHAUSTED: {
    status: 503,
    type: 'api_error',
    description: 'There are already `sessions.maxSessions` live agent sessions; retry when idle ones have expired.',
  },
  REQUEST_TIMEOUT: { status: 408, type: 'invalid_request_error', description: 'The client took too long to send its request.' },

  // ── identity ───────────────────────────────────────────────────────────────
  MISSING_API_KEY: {
    status: 401,
    type: 'authentication_error',
    description: 'Agents are configured and the request carries no `Authorization: Bearer` key.',
  },
  INVALID_API_KEY: { status: 401, type: 'authentication_error', description: 'The bearer key matches no configured agent.' },
  ADMIN_FORBIDDEN: { status: 403, type: 'permission_error', description: 'The admin key is missing or wrong.' },
  FAULT_INJECTION_DISABLED: {
    status: 403,
    type: 'permission_error',
    description: 'Fault injection is off (`admin.allowFaultInjection`).',
  },

  // ── WebSocket protocol ─────────────────────────────────────────────────────
  INVALID_FRAME: {
    status: 400,
    type: 'invalid_request_error',
    description: 'A WebSocket frame could not be decoded or is not a known message.',
  },
  NOT_WELCOMED: { status: 400, type: 'invalid_request_error', description: 'A `request` arrived before `hello`.' },
  DUPLICATE_REQUEST_ID: {
    status: 409,
    type: 'invalid_request_error',
    description: 'A `request` reused the id of a request still in flight on this session.',
  },
  UNKNOWN_REQUEST_ID: { status: 404, type: 'invalid_request_error', description: '`cancel` named no request in flight.' },
  CANCELLED: { status: 499, type: 'invalid_request_error', description: 'The client cancelled the request.' },
  FRAME_TOO_LARGE: { status: 413, type: 'invalid_request_error', description: 'A WebSocket message is larger than `sessions.maxFrameBytes`.' },

  // ── limits ─────────────────────────────────────────────────────────────────
  RATE_LIMITED: {
    status: 429,
    type: 'rate_limit_error',
    description: 'A rate limit held the request past `limits.maxQueueWaitMs`; retry after `retry-after`.',
  },

  // ── upstream ───────────────────────────────────────────────────────────────
  UPSTREAM_ERROR: {
    status: 502,
    type: 'api_error',
    description: 'The backend answered with an error; its status and message are passed on where they are the caller’s fault.',
  },
  UPSTREAM_REJECTED: {
    status: 400,
    type: 'invalid_request_error',
    description: 'The backend rejected the request as invalid (its 4xx status and message are passed on).',
  },
  UPSTREAM_AUTH_FAILED: {
    status: 502,
    type: 'api_error',
    description: 'The backend refused the optimizer’s credentials (its 401/403): check the key in the env var named by `apiKeyEnv`.',
  },
  UPSTREAM_RATE_LIMITED: { status: 429, type: 'rate_limit_error', description: 'The backend answered 429.' },
  UPSTREAM_UNREACHABLE: { status: 502, type: 'api_error', description: 'The backend refused or reset the connection.' },
  UPSTREAM_TIMEOUT: {
    status: 504,
    type: 'api_error',
    description: 'The backend did not connect, answer or continue its stream within its timeouts.',
  },
  UPSTREAM_BAD_RESPONSE: { status: 502, type: 'api_error', description: 'The backend answered something that is not its API’s format.' },
  UPSTREAM_STREAM_ERROR: {
    status: 502,
    type: 'api_error',
    description: 'A stream failed after it had started; sent as an in-stream error, never as a silent end.',
  },
  BACKEND_UNAVAILABLE: {
    status: 503,
    type: 'api_error',
    description: 'The backend actor is down or restarting; retry, or another backend will be tried.',
  },
  BACKEND_DISABLED: {
    status: 503,
    type: 'api_error',
    description: 'The backend is configured but cannot be used (e.g. the env var named by its `apiKeyEnv` is unset); the message says what to set.',
  },
  ALL_BACKENDS_FAILED: {
    status: 502,
    type: 'api_error',
    description: 'Every candidate backend failed (or none could take the request); the request is kept in the dead-letter queue under `dlq_id`.',
  },
  DLQ_NOT_FOUND: { status: 404, type: 'not_found_error', description: 'No dead letter has that id.' },
  DLQ_UNAVAILABLE: {
    status: 503,
    type: 'api_error',
    description: 'The dead-letter queue could not store or read entries (the store is down or restarting).',
  },
  NO_BACKENDS: { status: 503, type: 'api_error', description: 'No backend is configured or reachable.' },
  CAPABILITY_UNSUPPORTED: {
    status: 400,
    type: 'invalid_request_error',
    description:
      'No candidate backend can do what the request needs (e.g. embeddings on Anthropic, `n` > 1 on Groq); the message names the capability. Each backend that lacks it is skipped before any upstream call.',
  },
  NO_BACKEND_REACHABLE: {
    status: 503,
    type: 'api_error',
    description:
      'No backend can take calls: every configured one lacks its key and no local server answers its probe; the message names the env vars to set and the servers to start.',
  },

  // ── the optimizer itself ───────────────────────────────────────────────────
  SHUTTING_DOWN: { status: 503, type: 'server_error', description: 'The optimizer is draining for shutdown.' },
  INTERNAL: { status: 500, type: 'server_error', description: 'A bug in the optimizer; the log has the details.' },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;

/** Codes that were published once and must never be reused. */
export const RETIRED_CODES: readonly string[] = [];

export interface OptimizerErrorOptions {
  /** The request field at fault (OpenAI's `param`). */
  param?: string;
  /** For 429s: how long the caller should wait. */
  retryAfterMs?: number;
  /** Overrides the registry status (e.g. a passed-through upstream 4xx). */
  status?: number;
  cause?: unknown;
  /** Extra, non-secret facts for logs and error bodies (e.g. the backend id). */
  details?: Record<string, unknown>;
}

/** The one error class of the optimizer: every failure a client can see is one of these. */
export class OptimizerError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly param: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: OptimizerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OptimizerError';
    const def: ErrorDefinition = ERRORS[code];
    this.code = code;
    this.status = options.status ?? def.status;
    this.type = def.type;
    this.param = options.param;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }
}

/** Anything thrown, as an OptimizerError (unknown errors become INTERNAL, their message kept for the log only). */
export function toOptimizerError(error: unknown): OptimizerError {
  if (error instanceof OptimizerError) return error;
  return new OptimizerError('INTERNAL', 'Internal error in the optimizer.', { cause: error });
}
