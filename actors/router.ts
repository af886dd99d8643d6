import type { AnyActorRef } from 'xstate';
import type { OptimizerSystem } from './system.js';
import type { RouterContext } from '../machines/router.machine.js';
import { OptimizerError } from '../src/errors/registry.js';
import { planRoute, type RoutePlan, type RouteQuery } from '../src/routing/table.js';

export const ROUTER_SYSTEM_ID = 'router';

/**
 * The router actor's answer for a query. Resolving only reads the table the router actor
 * owns (a restarted router has it again), so the request path reads its snapshot instead
 * of queueing an event per request through its mailbox; the actor's `router.resolve`
 * event gives the same answer to whoever prefers messages. Throws the router's
 * OptimizerError (404 / 503), or BACKEND_UNAVAILABLE while the router is restarting.
 */
export function resolveVia(system: OptimizerSystem, query: RouteQuery): RoutePlan {
  const ref = system.get(ROUTER_SYSTEM_ID) as AnyActorRef | undefined;
  const snapshot = ref?.getSnapshot() as { status: string; context: RouterContext } | undefined;
  if (!snapshot || snapshot.status !== 'active') {
    throw new OptimizerError('BACKEND_UNAVAILABLE', 'The router is restarting; retry shortly.');
  }
  return planRoute(snapshot.context.table, query);
}
