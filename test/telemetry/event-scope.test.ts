import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_AUDIENCE, visibleToAgent } from '../../src/telemetry/event-scope.js';
import type { OptimizerEvent } from '../../src/telemetry/event-bus.js';

const event = (type: string, fields: Record<string, unknown> = {}): OptimizerEvent => ({ type, at: 1, ...fields });

describe('event scope: what an agent session may see', () => {
  it("per-request events: the agent's own only; one without an agentId goes to no agent", () => {
    for (const [type, audience] of EVENT_AUDIENCE) {
      if (audience !== 'agent') continue;
      expect(visibleToAgent(event(type, { agentId: 'alice', requestId: 'r1' }), 'alice'), type).toBe(true);
      expect(visibleToAgent(event(type, { agentId: 'bob', requestId: 'r2' }), 'alice'), type).toBe(false);
      expect(visibleToAgent(event(type, { requestId: 'r3' }), 'alice'), type).toBe(false);
    }
  });

  it('fleet events: everyone', () => {
    for (const type of ['breaker.opened', 'breaker.half_opened', 'breaker.closed', 'backend.discovered', 'backend.reachable', 'backend.unreachable', 'alert.raised']) {
      expect(visibleToAgent(event(type, { backendId: 'groq' }), 'alice'), type).toBe(true);
    }
  });

  it("the supervision tree: fleet-wide, except a report about an agent's session actor, which is that agent's", () => {
    expect(visibleToAgent(event('actor.restarted', { supervisor: 'backends', childId: 'groq', systemId: 'backend:groq' }), 'alice')).toBe(true);
    expect(visibleToAgent(event('actor.exited', { supervisor: 'sessions', childId: 'alice', systemId: 'session:alice' }), 'alice')).toBe(true);
    expect(visibleToAgent(event('actor.exited', { supervisor: 'sessions', childId: 'bob', systemId: 'session:bob' }), 'alice')).toBe(false);
    expect(visibleToAgent(event('supervisor.escalated', { supervisor: 'sessions', childId: 'bob' }), 'alice')).toBe(false);
    // The sessions supervisor itself, restarted by the root: the fleet's.
    expect(visibleToAgent(event('actor.restarted', { supervisor: 'root', childId: 'sessions', systemId: 'sessions' }), 'alice')).toBe(true);
  });

  it('fails closed: a type not in the table is for admins only, even carrying the agent id', () => {
    expect(visibleToAgent(event('test.flood', { agentId: 'alice' }), 'alice')).toBe(false);
    expect(visibleToAgent(event('request.new_kind', { agentId: 'alice' }), 'alice')).toBe(false);
  });
});

describe('the table and the docs', () => {
  it('docs/websocket.md lists exactly the table', () => {
    const docs = readFileSync(new URL('../../docs/websocket.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Events: who sees what'));
    const rows = [...section.matchAll(/^\| `([a-z_.]+)` \| `(fleet|agent|actor)` \|/gm)].map((m) => [m[1], m[2]]);
    expect(new Map(rows as [string, string][])).toEqual(new Map(EVENT_AUDIENCE));
    expect(rows).toHaveLength(EVENT_AUDIENCE.size);
  });

  it('every event documented in docs/observability.md has an audience', () => {
    const docs = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
    const documented = [...docs.matchAll(/^\| `([a-z_]+\.[a-z_.]+)` \| (?:debug|info) \|/gm)].map((m) => m[1]!);
    expect(documented.length).toBeGreaterThan(10);
    for (const type of documented) expect(EVENT_AUDIENCE.has(type), type).toBe(true);
  });
});
