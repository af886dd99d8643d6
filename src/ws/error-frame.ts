import type { OptimizerError } from '../errors/registry.js';

/** The `error` frame's payload. */
export interface ErrorFrame {
  type: 'error';
  id?: string;
  error: { code: string; message: string; type: string; status: number; param?: string; retryAfterMs?: number; dlqId?: string };
}

/** The one place that turns an error into a WebSocket `error` frame. */
export function errorFrame(error: OptimizerError, id?: string): ErrorFrame {
  const frame: ErrorFrame = { type: 'error', error: { code: error.code, message: error.message, type: error.type, status: error.status } };
  if (id !== undefined) frame.id = id;
  if (error.param !== undefined) frame.error.param = error.param;
  if (error.retryAfterMs !== undefined) frame.error.retryAfterMs = error.retryAfterMs;
  const dlqId = error.details?.dlqId;
  if (typeof dlqId === 'string') frame.error.dlqId = dlqId;
  return frame;
}
