import { OptimizerError } from '../errors/registry.js';

/**
 * Turns what undici throws (or a stream errors with) into an OptimizerError with a
 * stable code. The undici code goes into `details` for the log; nothing of the request
 * (keys, bodies) is included.
 */
export function upstreamFailure(error: unknown, backendId: string): OptimizerError {
  if (error instanceof OptimizerError) return error;
  const e = (error ?? {}) as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  const details = { backend: backendId, cause: code ?? e.name };
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new OptimizerError('UPSTREAM_TIMEOUT', `Backend ${backendId} did not accept the connection in time.`, { details, cause: error });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new OptimizerError('UPSTREAM_TIMEOUT', `Backend ${backendId} did not start answering in time.`, { details, cause: error });
    case 'ETIMEDOUT':
      return new OptimizerError('UPSTREAM_TIMEOUT', `Backend ${backendId} timed out (${code}).`, { details, cause: error });
    case 'UND_ERR_BODY_TIMEOUT':
      return new OptimizerError('UPSTREAM_TIMEOUT', `Backend ${backendId} went silent in the middle of its answer.`, { details, cause: error });
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new OptimizerError('UPSTREAM_UNREACHABLE', `Backend ${backendId} is unreachable (${code}).`, { details, cause: error });
    case 'UND_ERR_DESTROYED':
      return new OptimizerError('BACKEND_UNAVAILABLE', `Backend ${backendId} is restarting.`, { details, cause: error });
  }
  if (e.name === 'TimeoutError') {
    return new OptimizerError('UPSTREAM_TIMEOUT', `Backend ${backendId} timed out.`, { details, cause: error });
  }
  if (e.name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') {
    return new OptimizerError('CANCELLED', 'The request was cancelled.', { details, cause: error });
  }
  return new OptimizerError('UPSTREAM_UNREACHABLE', `Backend ${backendId} failed: ${e.message ?? String(error)}`, { details, cause: error });
}
