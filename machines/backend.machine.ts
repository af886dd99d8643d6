import { assign, fromCallback, sendTo, setup } from 'xstate';
import { OptimizerError } from '../src/errors/registry.js';
import { breakerMachine, type BreakerInput } from './breaker.machine.js';
import type { BackendInput, BackendStats, UpstreamCall } from '../src/upstream/types.js';

/**
 * One backend (an upstream provider endpoint) as a long-lived actor, with two children:
 * its undici `transport` and its circuit `breaker` (machines/breaker.machine.ts). A request is a
 * message, never an actor of its own: calls go to the backend's `transport` child
 * (undici, provided by actors/backend.ts) — directly from `callBackend` (a function call to the
 * handler the running transport registers, `transportOf`), or through
 * this machine's `backend.call` — and the transport reports its counters back as
 * `backend.stats` while they change. The actor keeps the numbers the router and
 * /health read: calls in flight, successes, failures, latency EWMA.
 */

export interface BackendContext {
  id: string;
  /** Kept for the transport; the key inside serialises as `[redacted]`. */
  input: BackendInput;
  provider: string;
  models: string[];
  inFlight: number;
  /** Calls waiting for a slot of its `maxConcurrency`. */
  queued?: number | undefined;
  succeeded: number;
  failed: number;
  /** Exponentially weighted moving average of call latency, in ms (α = 0.2), as last reported. */
  latencyEwmaMs: number | undefined;
  lastErrorCode: string | undefined;
  disabledReason: string | undefined;
}

export type BackendEvent =
  | { type: 'backend.call'; call: UpstreamCall }
  | BackendStats
  /** Fault injection (admin, when allowed): the actor throws, as a bug would make it. */
  | { type: 'debug.crash' };

export const backendMachine = setup({
  types: {
    context: {} as BackendContext,
    events: {} as BackendEvent,
    input: {} as BackendInput,
  },
  actors: {
    /** The backend's circuit breaker: the request path asks it before each call and tells it each outcome. */
    breaker: breakerMachine,
    /** Placeholder: actors/backend.ts provides the undici transport. */
    transport: fromCallback<{ type: 'backend.call'; call: UpstreamCall }, BackendInput>(() => {
      throw new Error('backend transport not provided');
    }),
  },
  guards: {
    isDisabled: ({ context }) => context.disabledReason !== undefined,
  },
  actions: {
    forwardCall: sendTo('transport', ({ event }) => event as { type: 'backend.call'; call: UpstreamCall }),
    takeStats: assign(({ event }) => {
      const { type: _type, ...stats } = event as BackendStats;
      return stats;
    }),
    rejectDisabled: ({ context, event }) => {
      (event as { call: UpstreamCall }).call.reject(
        new OptimizerError('BACKEND_DISABLED', `Backend ${context.id} is disabled: ${context.disabledReason}`, { details: { backend: context.id } }),
      );
    },
    crash: ({ context }) => {
      throw new Error(`fault injected into backend:${context.id}`);
    },
  },
}).createMachine({
  id: 'backend',
  context: ({ input }) => ({
    id: input.backend.id,
    input,
    provider: input.backend.provider,
    models: input.backend.models,
    inFlight: 0,
    queued: 0,
    succeeded: 0,
    failed: 0,
    latencyEwmaMs: undefined,
    lastErrorCode: undefined,
    disabledReason: input.disabledReason,
  }),
  initial: 'starting',
  on: {
    'debug.crash': { actions: 'crash' },
  },
  states: {
    starting: {
      always: [{ guard: 'isDisabled', target: 'disabled' }, { target: 'serving' }],
    },
    serving: {
      invoke: [
        { id: 'transport', src: 'transport', input: ({ context }) => context.input },
        {
          id: 'breaker',
          src: 'breaker',
          input: ({ context }) => {
            const input: BreakerInput = { backendId: context.id, settings: context.input.backend.breaker };
            if (context.input.onBreakerEvent) input.report = context.input.onBreakerEvent;
            return input;
          },
        },
      ],
      on: {
        'backend.call': { actions: 'forwardCall' },
        'backend.stats': { actions: 'takeStats' },
      },
    },
    disabled: {
      on: { 'backend.call': { actions: 'rejectDisabled' } },
    },
  },
});
