import type { AnyActorRef } from 'xstate';
import type { OptimizerSystem } from './system.js';
import type { RouterEvent } from '../machines/router.machine.js';
import { OptimizerError } from '../src/errors/registry.js';
import type { RoutePlan, RouteQuery } from '../src/routing/table.js';

export const ROUTER_SYSTEM_ID = 'router';

/** Asks the router actor for a route; answered synchronously. Throws the router's OptimizerError. */
export function resolveVia(system: OptimizerSystem, query: RouteQuery): RoutePlan {
  const ref = system.get(ROUTER_SYSTEM_ID) as AnyActorRef | undefined;
  if (!ref || ref.getSnapshot().status !== 'active') {
    throw new OptimizerError('BACKEND_UNAVAILABLE', 'The router is restarting; retry shortly.');
  }
  let result: RoutePlan | OptimizerError | undefined;
  const event: RouterEvent = { type: 'router.resolve', query, reply: (r) => (result = r) };
  ref.send(event);
  if (result === undefined) throw new OptimizerError('INTERNAL', 'The router did not answer.');
  if (result instanceof OptimizerError) throw result;
  return result;
}
