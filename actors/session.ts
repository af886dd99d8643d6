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

/** How long an agent must stay without requests before its session actor is told it is idle. */
export const IDLE_NOTICE_MS = 1_000;

/**
 * Per-agent requests in flight, counted outside the session actor so that the hot path
 * sends the actor an event only when the agent goes from idle to busy and back (what its
 * idle expiry needs), not two per request. "Back to idle" is told only after
 * IDLE_NOTICE_MS without a new request, so an agent whose requests finish at once (cache
 * hits) but keep coming costs its session no event at all, and no timer per request either:
 * one idle timer per agent, which, when it fires early, waits out the rest of the time since
 * the agent's last request finished.
 */
export class SessionLoad {
  readonly #agents = new Map<string, AgentLoad>();

  /** A request of `agentId` starts; tells the session when the agent was idle. */
  started(session: AnyActorRef | undefined, agentId: string): void {
    let agent = this.#agents.get(agentId);
    if (!agent) {
      agent = { inFlight: 0, session, idleTimer: undefined, idleSince: 0, busy: false };
      this.#agents.set(agentId, agent);
    }
    agent.inFlight++;
    if (!agent.busy || agent.session !== session) {
      // A new session actor (the old one expired or crashed) hears it too.
      if (agent.busy && agent.session !== session) tellSession(agent.session, { type: 'session.request.finished' });
      agent.session = session;
      agent.busy = true;
      tellSession(session, { type: 'session.request.started' });
    }
  }

  /** A request of `agentId` is over; the session hears of idleness after IDLE_NOTICE_MS without another. */
  finished(_session: AnyActorRef | undefined, agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (!agent) return;
    agent.inFlight = Math.max(0, agent.inFlight - 1);
    if (agent.inFlight > 0) return;
    agent.idleSince = Date.now();
    if (agent.idleTimer === undefined) this.#armIdle(agentId, agent, IDLE_NOTICE_MS);
  }

  #armIdle(agentId: string, agent: AgentLoad, ms: number): void {
    agent.idleTimer = setTimeout(() => {
      agent.idleTimer = undefined;
      // Busy again: the request that finishes last arms the timer anew.
      if (agent.inFlight > 0) return;
      const idleFor = Date.now() - agent.idleSince;
      if (idleFor < IDLE_NOTICE_MS) {
        this.#armIdle(agentId, agent, IDLE_NOTICE_MS - idleFor);
        return;
      }
      this.#agents.delete(agentId);
      if (agent.busy) tellSession(agent.session, { type: 'session.request.finished' });
    }, ms);
    agent.idleTimer.unref();
  }
}

interface AgentLoad {
  inFlight: number;
  session: AnyActorRef | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** When its last request finished (Date.now()). */
  idleSince: number;
  busy: boolean;
}
