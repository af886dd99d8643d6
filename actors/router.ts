import type { AnyActorRef } from 'xstate';
import type { OptimizerSystem } from './system.js';
import { backendSystemId } from './backend.js';
import type { RouterContext } from '../machines/router.machine.js';
import { OptimizerError } from '../src/errors/registry.js';
import { quotaScore, type QuotaTracker } from '../src/resilience/quota.js';
import { routeRequest, type HealthReader } from '../src/routing/auto.js';
import type { BackendAvailability } from '../src/routing/score.js';
import type { Availability } from '../src/discovery/availability.js';
import type { RoutePlan, RouteQuery } from '../src/routing/table.js';

export const ROUTER_SYSTEM_ID = 'router';

/**
 * The router actor's answer for a query. Resolving only reads what the router actor owns (a
 * restarted router has it again) and the backends' live state, so the request path reads its
 * snapshot instead of queueing an event per request through its mailbox; the actor's
 * `router.resolve` event gives the same answer to whoever prefers messages. Throws the router's
 * OptimizerError (400 / 404 / 503), or BACKEND_UNAVAILABLE while the router is restarting.
 */
export function resolveVia(system: OptimizerSystem, query: RouteQuery): RoutePlan {
  const ref = system.get(ROUTER_SYSTEM_ID) as AnyActorRef | undefined;
  const snapshot = ref?.getSnapshot() as { status: string; context: RouterContext } | undefined;
  if (!snapshot || snapshot.status !== 'active') {
    throw new OptimizerError('BACKEND_UNAVAILABLE', 'The router is restarting; retry shortly.');
  }
  return routeRequest(snapshot.context, query, snapshot.context.health);
}

interface BackendSnapshotView {
  status: string;
  value: unknown;
  context: { latencyEwmaMs?: number | undefined };
  children: Record<string, AnyActorRef | undefined>;
}

/**
 * The backends' live state for the router, read from their actors when a request is routed: the
 * breaker child's state, the latency EWMA the backend actor keeps from its transport's reports,
 * and the quota its rate-limit headers left. Each read is a map lookup and a snapshot read, so
 * ranking costs O(candidates) and no message; nothing is cached, so it is never stale.
 */
export class LiveHealth implements HealthReader {
  constructor(
    private readonly system: () => OptimizerSystem | undefined,
    private readonly quotas: ReadonlyMap<string, QuotaTracker>,
    private readonly reachability?: Pick<Availability, 'unusableReason'>,
    private readonly now: () => number = Date.now,
  ) {}

  availability(backendId: string): BackendAvailability {
    // Unreachable (a local server that stopped answering its probe) or unhealthy (vLLM's /health 503).
    if (this.reachability?.unusableReason(backendId) !== undefined) return 'down';
    const backend = this.#backend(backendId);
    if (!backend || backend.status !== 'active' || backend.value === 'disabled') return 'down';
    const breaker = backend.children.breaker?.getSnapshot() as { status: string; value: unknown } | undefined;
    if (!breaker || breaker.status !== 'active') return 'down';
    return breaker.value === 'open' || breaker.value === 'half_open' ? breaker.value : 'closed';
  }

  latencyEwmaMs(backendId: string): number | undefined {
    return this.#backend(backendId)?.context.latencyEwmaMs;
  }

  quota(backendId: string): number {
    const tracker = this.quotas.get(backendId);
    if (!tracker) return 1;
    const now = this.now();
    return quotaScore(tracker.state(now), now);
  }

  #backend(backendId: string): BackendSnapshotView | undefined {
    const ref = this.system()?.get(backendSystemId(backendId)) as AnyActorRef | undefined;
    return ref?.getSnapshot() as BackendSnapshotView | undefined;
  }
}
