import type { OptimizerError } from './registry.js';

/** OpenAI's error object, plus our stable code (and `retry_after_ms` on 429s). */
export interface ErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string;
    retry_after_ms?: number;
    request_id?: string;
  };
}

/** The error's JSON body, shared by the HTTP answer, the in-stream SSE error and the WS frame. */
export function errorBody(error: OptimizerError, requestId?: string): ErrorBody {
  const body: ErrorBody = { error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code } };
  if (error.retryAfterMs !== undefined) body.error.retry_after_ms = error.retryAfterMs;
  if (requestId !== undefined) body.error.request_id = requestId;
  return body;
}
