import { assign, setup } from 'xstate';
import { toOptimizerError, type OptimizerError } from '../src/errors/registry.js';
import { planRoute, type RoutePlan, type RouteQuery, type RoutingTable } from '../src/routing/table.js';

/**
 * The router: owns the routing table (built once from config) that turns a request's
 * `model` (and hints) into the backends that may serve it. The request path reads the
 * table from this actor's snapshot (actors/router.ts: no message per request); a
 * `router.resolve` message with a reply callback gives the same answer. Task-aware
 * scoring (a later issue) plugs in here.
 */

export interface RouterContext {
  table: RoutingTable;
  /** Answers given through `router.resolve` messages (not the snapshot reads of the request path). */
  resolved: number;
  notFound: number;
}

export interface RouterInput {
  table: RoutingTable;
}

export type RouterEvent =
  | { type: 'router.resolve'; query: RouteQuery; reply: (result: RoutePlan | OptimizerError) => void }
  /** A new table (discovery found backends or models); resolving uses it from now on. */
  | { type: 'router.table'; table: RoutingTable }
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
        result = planRoute(context.table, query);
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
  context: ({ input }) => ({ table: input.table, resolved: 0, notFound: 0 }),
  on: {
    'router.resolve': { actions: 'resolve' },
    'router.table': { actions: assign({ table: ({ event }) => (event as Extract<RouterEvent, { type: 'router.table' }>).table }) },
    'debug.crash': { actions: 'crash' },
  },
});
