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
    /** Where the request was kept when every backend failed (replay it with POST /admin/dlq/:id/replay). */
    dlq_id?: string;
  };
}

/** The error's JSON body, shared by the HTTP answer, the in-stream SSE error and the WS frame. */
export function errorBody(error: OptimizerError, requestId?: string): ErrorBody {
  const body: ErrorBody = { error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code } };
  if (error.retryAfterMs !== undefined) body.error.retry_after_ms = error.retryAfterMs;
  if (requestId !== undefined) body.error.request_id = requestId;
  const dlqId = error.details?.dlqId;
  if (typeof dlqId === 'string') body.error.dlq_id = dlqId;
  return body;
}
