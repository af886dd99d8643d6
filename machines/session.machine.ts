import { assign, setup } from 'xstate';

/**
 * One agent's session. It knows who the agent is, how many of its requests are in
 * flight and how many WebSocket connections it holds; per-agent limits and fairness
 * (a later issue) plug in here. A session with nothing in flight and no connection
 * ends itself after `idleTimeoutMs` (final state), so made-up agent ids cannot grow
 * memory without bound: its supervisor forgets temporary children that end.
 */

export interface SessionInput {
  agentId: string;
  agentType: string | undefined;
  idleTimeoutMs: number;
}

export interface SessionContext extends SessionInput {
  inFlight: number;
  connections: number;
  requests: number;
}

export type SessionEvent =
  | { type: 'session.request.started' }
  | { type: 'session.request.finished' }
  | { type: 'session.attached' }
  | { type: 'session.detached' }
  | { type: 'debug.crash' };

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  delays: {
    idleTimeout: ({ context }) => context.idleTimeoutMs,
  },
  guards: {
    becomesIdle: ({ context, event }) =>
      (event.type === 'session.request.finished' ? context.inFlight - 1 : context.inFlight) <= 0 &&
      (event.type === 'session.detached' ? context.connections - 1 : context.connections) <= 0,
  },
  actions: {
    startRequest: assign({ inFlight: ({ context }) => context.inFlight + 1, requests: ({ context }) => context.requests + 1 }),
    finishRequest: assign({ inFlight: ({ context }) => Math.max(0, context.inFlight - 1) }),
    attach: assign({ connections: ({ context }) => context.connections + 1 }),
    detach: assign({ connections: ({ context }) => Math.max(0, context.connections - 1) }),
    crash: ({ context }) => {
      throw new Error(`fault injected into session:${context.agentId}`);
    },
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({ ...input, inFlight: 0, connections: 0, requests: 0 }),
  initial: 'idle',
  on: {
    'debug.crash': { actions: 'crash' },
  },
  states: {
    idle: {
      after: { idleTimeout: 'expired' },
      on: {
        'session.request.started': { target: 'busy', actions: 'startRequest' },
        'session.attached': { target: 'busy', actions: 'attach' },
      },
    },
    busy: {
      on: {
        'session.request.started': { actions: 'startRequest' },
        'session.attached': { actions: 'attach' },
        'session.request.finished': [
          { guard: 'becomesIdle', target: 'idle', actions: 'finishRequest' },
          { actions: 'finishRequest' },
        ],
        'session.detached': [{ guard: 'becomesIdle', target: 'idle', actions: 'detach' }, { actions: 'detach' }],
      },
    },
    expired: { type: 'final' },
  },
});
