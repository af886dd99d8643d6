import type { ServerResponse } from 'node:http';
import { errorBody } from '../errors/error-body.js';
import type { OptimizerError } from '../errors/registry.js';

/**
 * The one place that turns an error into an HTTP answer: OpenAI's error shape, the
 * registry's status, `retry-after` (whole seconds, rounded up) on 429s.
 */
export function sendHttpError(res: ServerResponse, error: OptimizerError, requestId?: string, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(error, requestId));
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  if (error.retryAfterMs !== undefined) headers['retry-after'] = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
  res.writeHead(error.status, headers);
  res.end(body);
}

/** The in-stream form of the same error, for a stream whose headers are already sent. */
export function sseErrorEvent(error: OptimizerError, requestId?: string): string {
  return `data: ${JSON.stringify(errorBody(error, requestId))}\n\n`;
}
