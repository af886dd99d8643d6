import { assign, setup } from 'xstate';
import { toOptimizerError, type OptimizerError } from '../src/errors/registry.js';
import { NO_HEALTH, routeRequest, type AutoRouting, type HealthReader } from '../src/routing/auto.js';
import type { RoutePlan, RouteQuery, RoutingTable } from '../src/routing/table.js';

/**
 * The router: owns the routing table (built once from config) that turns a request's `model`
 * (and hints) into the backends that may serve it, and the precomputed task routing of
 * `model: "auto"` (src/routing/auto.ts), which ranks candidates by task fit, breaker state,
 * quota, latency and cost. The live part (breakers, quota, latency) is read through `health`
 * when a request is routed (actors/router.ts reads the backend actors' snapshots: O(candidates),
 * no message), so the router never holds a stale copy. The request path reads this actor's
 * snapshot (no message per request); a `router.resolve` message with a reply callback gives the
 * same answer.
 */

export interface RouterContext {
  table: RoutingTable;
  /** Task routing of `auto`; undefined = `auto` takes the default route. */
  auto: AutoRouting | undefined;
  /** Live backend state (provided by actors/router.ts; nothing live in unit tests). */
  health: HealthReader;
  /** Answers given through `router.resolve` messages (not the snapshot reads of the request path). */
  resolved: number;
  notFound: number;
}

export interface RouterInput {
  table: RoutingTable;
  auto?: AutoRouting | undefined;
  health?: HealthReader | undefined;
}

export type RouterEvent =
  | { type: 'router.resolve'; query: RouteQuery; reply: (result: RoutePlan | OptimizerError) => void }
  /** A new table (discovery found backends or models); resolving uses it from now on. */
  | { type: 'router.table'; table: RoutingTable; auto?: AutoRouting | undefined }
  | { type: 'debug.crash' };

export const routerMachine = setup({
  types: {
    context: {} as RouterContext,
    events: {} as RouterEvent,
    input: {} as RouterInput,
  },
  actions: {
    resolve: assign(({ context, event }) => {
      const { query, reply } = event as Extract<RouterEvent, { type: 'router.resolve' }>;
      let result: RoutePlan | OptimizerError;
      try {
        result = routeRequest(context, query, context.health);
      } catch (error) {
        result = toOptimizerError(error);
      }
      try {
        reply(result);
      } catch {
        // A caller's broken callback must not take the router down.
      }
      return 'target' in result ? { resolved: context.resolved + 1 } : { notFound: context.notFound + 1 };
    }),
    crash: () => {
      throw new Error('fault injected into router');
    },
  },
}).createMachine({
  id: 'router',
  context: ({ input }) => ({ table: input.table, auto: input.auto, health: input.health ?? NO_HEALTH, resolved: 0, notFound: 0 }),
  on: {
    'router.resolve': { actions: 'resolve' },
    'router.table': {
      actions: assign(({ context, event }) => {
        const { table, auto } = event as Extract<RouterEvent, { type: 'router.table' }>;
        return { table, auto: auto ?? context.auto };
      }),
    },
    'debug.crash': { actions: 'crash' },
  },
});
