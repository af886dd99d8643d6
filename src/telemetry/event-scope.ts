import { SESSIONS_SYSTEM_ID } from '../../actors/session.js';
import type { OptimizerEvent } from './event-bus.js';

/**
 * Who may see an event of the bus on an agent's WebSocket session (`subscribe`). Admin sessions
 * (a `hello` with the admin key) and `GET /admin/events` (admin-guarded) see every event; an
 * agent's session sees what this table grants it, and nothing else. docs/websocket.md lists the
 * same table; test/telemetry/event-scope.test.ts keeps the two in step.
 *
 * - `fleet`: operational facts about backends and the optimizer, with no agent data (breaker
 *   transitions, discovery probes, alerts): every session.
 * - `agent`: about one request of one agent (they carry its `agentId`, request id, model...):
 *   only the session of the agent the event's `agentId` names. An event of this kind without an
 *   `agentId` goes to no agent.
 * - `actor`: a supervisor's report about one of its children: fleet-level, except that the children
 *   of the `sessions` supervisor are agents' session actors (`childId` is the agent id), so those
 *   reports go only to that agent.
 *
 * An event type not listed here (a new one, or a test's) is for admins only: the table fails
 * closed, so a new event never leaks by default.
 */
export type EventAudience = 'fleet' | 'agent' | 'actor';

export const EVENT_AUDIENCE: ReadonlyMap<string, EventAudience> = new Map<string, EventAudience>([
  // One agent's requests.
  ['request.received', 'agent'],
  ['request.completed', 'agent'],
  ['cache.hit', 'agent'],
  ['cache.miss', 'agent'],
  ['dedupe.joined', 'agent'],
  ['ratelimit.queued', 'agent'],
  ['ratelimit.rejected', 'agent'],
  ['backend.succeeded', 'agent'],
  ['backend.failed', 'agent'],
  ['backend.failover', 'agent'],
  ['dlq.enqueued', 'agent'],
  // The fleet.
  ['breaker.opened', 'fleet'],
  ['breaker.half_opened', 'fleet'],
  ['breaker.closed', 'fleet'],
  ['backend.discovered', 'fleet'],
  ['backend.reachable', 'fleet'],
  ['backend.unreachable', 'fleet'],
  ['backend.unhealthy', 'fleet'],
  ['alert.raised', 'fleet'],
  ['alert.resolved', 'fleet'],
  // The supervision tree.
  ['actor.restarted', 'actor'],
  ['actor.exited', 'actor'],
  ['supervisor.escalated', 'actor'],
]);

/** Whether the session of `agentId` (not an admin) may see `event`. O(1): one map lookup and a comparison. */
export function visibleToAgent(event: OptimizerEvent, agentId: string): boolean {
  switch (EVENT_AUDIENCE.get(event.type)) {
    case 'fleet':
      return true;
    case 'agent':
      return event.agentId === agentId;
    case 'actor':
      return event.supervisor !== SESSIONS_SYSTEM_ID || event.childId === agentId;
    default:
      return false;
  }
}
