import type { AnyActorRef } from 'xstate';
import type { OptimizerSystem } from './system.js';
import { sessionMachine, type SessionEvent } from '../machines/session.machine.js';
import type { SupervisorContext } from '../machines/supervisor.machine.js';
import { OptimizerError } from '../src/errors/registry.js';

export const SESSIONS_SYSTEM_ID = 'sessions';
export const sessionSystemId = (agentId: string): string => `session:${agentId}`;

export interface SessionSettings {
  idleTimeoutMs: number;
  maxSessions: number;
}

/**
 * The agent's session actor, started under the `sessions` supervisor on first use
 * (temporary: it ends itself when idle). Undefined while the sessions supervisor is
 * itself restarting: the request goes on without per-session bookkeeping.
 */
export function sessionFor(system: OptimizerSystem, agentId: string, agentType: string | undefined, settings: SessionSettings): AnyActorRef | undefined {
  const systemId = sessionSystemId(agentId);
  const existing = system.get(systemId) as AnyActorRef | undefined;
  if (existing && existing.getSnapshot().status === 'active') return existing;
  const sessions = system.get(SESSIONS_SYSTEM_ID) as AnyActorRef | undefined;
  if (!sessions || sessions.getSnapshot().status !== 'active') return undefined;
  const context = (sessions.getSnapshot() as { context: SupervisorContext }).context;
  if (context.specs.length >= settings.maxSessions) {
    throw new OptimizerError('SESSIONS_EXHAUSTED', `There are already ${settings.maxSessions} live agent sessions; retry when idle ones expire.`);
  }
  sessions.send({
    type: 'supervisor.start_child',
    spec: {
      id: agentId,
      systemId,
      restart: 'temporary',
      logic: sessionMachine,
      input: { agentId, agentType, idleTimeoutMs: settings.idleTimeoutMs },
    },
  });
  return system.get(systemId) as AnyActorRef | undefined;
}

export function tellSession(ref: AnyActorRef | undefined, event: SessionEvent): void {
  if (ref && ref.getSnapshot().status === 'active') ref.send(event);
}

/**
 * Per-agent requests in flight, counted outside the session actor so that the hot path
 * sends the actor an event only when the agent goes from idle to busy and back (what
 * its idle expiry needs), not two per request.
 */
export class SessionLoad {
  readonly #inFlight = new Map<string, number>();

  /** A request of `agentId` starts; tells the session when the agent was idle. */
  started(session: AnyActorRef | undefined, agentId: string): void {
    const n = this.#inFlight.get(agentId) ?? 0;
    this.#inFlight.set(agentId, n + 1);
    if (n === 0) tellSession(session, { type: 'session.request.started' });
  }

  /** A request of `agentId` is over; tells the session when the agent became idle. */
  finished(session: AnyActorRef | undefined, agentId: string): void {
    const n = (this.#inFlight.get(agentId) ?? 1) - 1;
    if (n > 0) {
      this.#inFlight.set(agentId, n);
      return;
    }
    this.#inFlight.delete(agentId);
    tellSession(session, { type: 'session.request.finished' });
  }

  /** Requests of `agentId` in flight. */
  inFlight(agentId: string): number {
    return this.#inFlight.get(agentId) ?? 0;
  }
}
