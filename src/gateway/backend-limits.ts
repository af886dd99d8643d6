import { breakerOf } from '../../actors/backend.js';
import type { OptimizerSystem } from '../../actors/system.js';
import type { Availability } from '../discovery/availability.js';
import { OptimizerError } from '../errors/registry.js';
import type { Limiter } from '../limits/limiter.js';
import type { RoutePlan } from '../routing/table.js';

/**
 * Backends' own rate limits (`backends[].limits`) on a request that may try several backends
 * (docs/limits.md#failover-and-backend-limits).
 *
 * - At admission the request queues, fairly, on `global`, its agent's key and **one** backend's key:
 *   the route's first target, unless that backend has limits and delivery would skip it at once
 *   (its breaker is open, a probe says it is down). Then it queues for the first candidate that is
 *   not skipped: a request must neither wait for, nor spend the quota of, a backend it will not call.
 * - Any other limited backend the delivery then calls (a failover, or a candidate moved ahead of the
 *   first target) takes one slot on its own key alone, now or never (`Limiter.tryAdmitBackend`); a
 *   candidate without room is skipped like one whose breaker is open.
 */

/** Whether delivery will skip this backend without calling it: a probe says it is down, or its breaker is open. */
export function skippedAtOnce(system: OptimizerSystem, availability: Availability | undefined, backendId: string): boolean {
  if (availability?.unusableReason(backendId) !== undefined) return true;
  const snapshot = breakerOf(system, backendId)?.getSnapshot();
  return snapshot !== undefined && (snapshot.status !== 'active' || snapshot.value === 'open');
}

/**
 * The backend whose own limit the request queues for at admission (see above). Costs nothing
 * unless some backend has limits.
 */
export function admissionBackend(limiter: Limiter, route: RoutePlan, skipped: (backendId: string) => boolean): string {
  const first = route.target.backendId;
  if (!limiter.limitsAnyBackend || !skipped(first)) return first;
  for (const candidate of route.candidates) if (!skipped(candidate.backendId)) return candidate.backendId;
  return first;
}

/** What a candidate skipped for its own limit leaves in the request's attempts (and its dead letter). */
export function backendLimitSkip(limiter: Limiter, backendId: string): OptimizerError {
  const usage = limiter.keyUsage(`backend:${backendId}`);
  const parts: string[] = [];
  if (usage?.requestsPerMinute !== undefined) parts.push(`${usage.requests} of ${usage.requestsPerMinute} requests/min`);
  if (usage?.tokensPerMinute !== undefined) parts.push(`${usage.tokens} of ${usage.tokensPerMinute} tokens/min`);
  return new OptimizerError(
    'RATE_LIMITED',
    `Skipped: backend ${backendId}'s own rate limit has no room (${parts.join(', ')} used); a failover does not wait for it.`,
    { details: { limit: `backend:${backendId}` } },
  );
}
