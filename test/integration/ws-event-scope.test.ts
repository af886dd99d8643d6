import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStreamStats } from '../../src/telemetry/event-stream.js';
import { eventually, startStack, type Stack } from '../support/stack.js';
import { TestWsClient, type Frame } from '../support/ws-client.js';
import { sseText } from '../support/sse-text.js';

const ADMIN_KEY = 'admin-key-for-ws-event-scope';
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

type Event = { type: string; agentId?: string; requestId?: string; supervisor?: string; childId?: string; systemId?: string };
const eventsOf = (client: TestWsClient): Event[] => client.frames.filter((f) => f.type === 'event').map((f) => f.event as Event);
const isEvent = (predicate: (e: Event) => boolean) => (f: Frame) => f.type === 'event' && predicate(f.event as Event);

/**
 * Regression: any welcomed WebSocket session could `subscribe` to `*` and read every agent's
 * request events (agent ids, request ids, models). Now an agent's session sees its own and the
 * fleet's; a session that said hello with the admin key sees everything.
 */
describe('WebSocket subscribe is scoped to the session: its own requests, the fleet, or everything for an admin', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { OPTIMIZER_ADMIN_KEY: ADMIN_KEY },
      config: { admin: { keyEnv: 'OPTIMIZER_ADMIN_KEY', allowFaultInjection: true }, dedupe: { enabled: false } },
    });
  });
  afterAll(() => stack.close());

  const scopes = async () =>
    ((await (await fetch(`${stack.optimizer.url}/admin/events/subscribers`, { headers: admin })).json()) as { subscribers: EventStreamStats[] }).subscribers.map((s) => s.scope);
  const chat = (content: string) => ({ model: 'main/test-model', messages: [{ role: 'user', content }] });

  async function subscribed(agentId: string, extra: Record<string, unknown> = {}): Promise<TestWsClient> {
    const client = await TestWsClient.connect(stack.optimizer.url);
    const welcome = await client.hello(agentId, extra);
    expect(welcome.type).toBe('welcome');
    client.send({ type: 'subscribe', topics: ['*'] });
    await client.next((f) => f.type === 'subscribed');
    return client;
  }

  async function ask(client: TestWsClient, id: string): Promise<string> {
    client.send({ type: 'request', id, params: chat(`question ${id}`) });
    const response = await client.next((f) => f.id === id && (f.type === 'response' || f.type === 'error'));
    expect(response.type).toBe('response');
    return (response.meta as { requestId: string }).requestId;
  }

  it('two agents each see only their own request events; the admin sees both (and HTTP agents); fleet events reach everyone', async () => {
    const alice = await subscribed('alice-agent');
    const bob = await subscribed('bob-agent');
    const ops = await subscribed('ops-console', { adminKey: ADMIN_KEY });
    try {
      expect(ops.frames.find((f) => f.type === 'welcome')).toMatchObject({ admin: true });
      expect(alice.frames.find((f) => f.type === 'welcome')).toMatchObject({ admin: false });

      const aliceRequest = await ask(alice, 'a1');
      const bobRequest = await ask(bob, 'b1');
      const http = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-agent-id': 'carol-agent' },
        body: JSON.stringify(chat('over http')),
      });
      expect(http.status).toBe(200);
      const carolRequest = http.headers.get('x-request-id')!;

      // The admin session sees every agent's requests.
      for (const requestId of [aliceRequest, bobRequest, carolRequest]) {
        await ops.next(isEvent((e) => e.type === 'request.completed' && e.requestId === requestId));
      }
      // Each agent sees its own.
      for (const [client, requestId] of [
        [alice, aliceRequest],
        [bob, bobRequest],
      ] as const) {
        for (const type of ['request.received', 'backend.succeeded', 'request.completed']) {
          await client.next(isEvent((e) => e.type === type && e.requestId === requestId));
        }
      }

      expect((await scopes()).sort()).toEqual(['agent:alice-agent', 'agent:bob-agent', 'all']);

      // A report about alice's session actor (the sessions supervisor's child is named after her) is hers.
      expect((await fetch(`${stack.optimizer.url}/admin/actors/session:alice-agent/crash`, { method: 'POST', headers: admin })).status).toBe(202);
      await ops.next(isEvent((e) => e.type === 'actor.exited' && e.childId === 'alice-agent'));
      await alice.next(isEvent((e) => e.type === 'actor.exited' && e.childId === 'alice-agent'));
      // A backend's restart is the fleet's: everyone sees it. Published after everything above, so
      // once it has arrived, anything leaked before it would have arrived too.
      expect((await fetch(`${stack.optimizer.url}/admin/actors/backend:main/crash`, { method: 'POST', headers: admin })).status).toBe(202);
      const restarted = isEvent((e) => e.type === 'actor.restarted' && e.systemId === 'backend:main');
      await Promise.all([alice.next(restarted), bob.next(restarted), ops.next(restarted)]);

      for (const [client, me, others] of [
        [alice, 'alice-agent', ['bob-agent', 'carol-agent', bobRequest, carolRequest]],
        [bob, 'bob-agent', ['alice-agent', 'carol-agent', aliceRequest, carolRequest]],
      ] as const) {
        const seen = eventsOf(client);
        for (const event of seen) {
          if (event.agentId !== undefined) expect(event.agentId, event.type).toBe(me);
          const text = JSON.stringify(event);
          for (const other of others) expect(text, `${me} saw ${event.type}`).not.toContain(other);
        }
      }
      expect(eventsOf(bob).some((e) => e.type === 'actor.exited')).toBe(false);
      // The admin saw the other agents' events too, and alice's session ending.
      const opsSeen = eventsOf(ops);
      expect(new Set(opsSeen.filter((e) => e.type === 'request.completed').map((e) => e.agentId))).toEqual(new Set(['alice-agent', 'bob-agent', 'carol-agent']));
      expect(opsSeen.some((e) => e.type === 'actor.exited' && e.childId === 'alice-agent')).toBe(true);
    } finally {
      for (const client of [alice, bob, ops]) client.close();
    }
  });

  it('a bad admin key gets an ADMIN_FORBIDDEN error frame and changes nothing', async () => {
    const client = await TestWsClient.connect(stack.optimizer.url);
    try {
      const refused = await client.hello('mallory', { adminKey: `${ADMIN_KEY}-not` });
      expect(refused).toMatchObject({ type: 'error', error: { code: 'ADMIN_FORBIDDEN', status: 403, type: 'permission_error', param: 'adminKey' } });
      expect(refused.id).toBeUndefined();
      // Not welcomed as anyone.
      client.send({ type: 'request', id: 'r1', params: chat('sneaky') });
      expect(await client.next((f) => f.id === 'r1')).toMatchObject({ type: 'error', error: { code: 'NOT_WELCOMED' } });

      // An agent session may go on; asking again with a wrong key does not make it an admin.
      client.frames.length = 0;
      expect(await client.hello('mallory')).toMatchObject({ type: 'welcome', agentId: 'mallory', admin: false });
      client.frames.length = 0;
      expect(await client.hello('mallory', { adminKey: '' })).toMatchObject({ type: 'error', error: { code: 'ADMIN_FORBIDDEN' } });
      client.send({ type: 'subscribe', topics: ['request.*'] });
      await client.next((f) => f.type === 'subscribed');
      // (The sessions of the test before close asynchronously.)
      await eventually(async () => JSON.stringify((await scopes())) === '["agent:mallory"]', 3000, "mallory's stream alone, scoped to mallory");
    } finally {
      client.close();
    }
  });

  it('the SSE stream is unchanged: admin-guarded, and it carries every agent', async () => {
    const refused = await fetch(`${stack.optimizer.url}/admin/events?topics=request.completed`);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ADMIN_FORBIDDEN');

    const controller = new AbortController();
    const response = await fetch(`${stack.optimizer.url}/admin/events?topics=request.completed`, { headers: admin, signal: controller.signal });
    expect(response.status).toBe(200);
    const stream = sseText(response);
    await stream.until('event: events.subscribed');
    for (const agent of ['sse-one', 'sse-two']) {
      const answer = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-agent-id': agent },
        body: JSON.stringify(chat(`from ${agent}`)),
      });
      expect(answer.status).toBe(200);
    }
    await stream.until('"agentId":"sse-one"');
    await stream.until('"agentId":"sse-two"');
    controller.abort();
    await eventually(
      async () => ((await (await fetch(`${stack.optimizer.url}/admin/events/subscribers`, { headers: admin })).json()) as { subscribers: unknown[] }).subscribers.length === 0,
      3000,
      'the closed stream to be forgotten',
    );
  });
});
