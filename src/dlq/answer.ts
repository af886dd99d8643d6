import type { DeadLetter } from './types.js';

/** Attempt codes that mean no backend was reached (restarting, disabled, none left, skipped for its own rate limit). */
const NOT_REACHED = new Set(['BACKEND_UNAVAILABLE', 'BACKEND_DISABLED', 'NO_BACKENDS', 'NO_BACKEND_REACHABLE', 'RATE_LIMITED']);
/** An upstream message can be a whole HTML error page: the caller gets its start. */
const MAX_QUOTED_MESSAGE = 300;

/**
 * What the caller is told about a request that was dead-lettered: 503 when no backend
 * could be reached at all (retrying later may well work), 502 when backends answered or
 * failed on the wire. The message names the DLQ id so an operator can find and replay it.
 * The integrator wraps it in the optimizer's error (its own registered code) with
 * `details: { dlqId }`.
 */
export function deadLetterAnswer(entry: DeadLetter): { status: 502 | 503; message: string } {
  const reached = entry.attempts.some((attempt) => !NOT_REACHED.has(attempt.code));
  const tried = entry.attempts.length;
  const last = entry.attempts[tried - 1];
  const lastFailure = last ? ` Last failure: ${last.backend} (${last.model}) ${last.code}: ${clip(last.message)}` : '';
  return {
    status: reached ? 502 : 503,
    message:
      `${entry.reason} (${tried} attempt${tried === 1 ? '' : 's'}). The request is kept in the dead-letter queue as ${entry.id}` +
      ` and can be replayed by an operator.${lastFailure}`,
  };
}

function clip(text: string): string {
  return text.length <= MAX_QUOTED_MESSAGE ? text : `${text.slice(0, MAX_QUOTED_MESSAGE)}…`;
}
