import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStreamStats } from '../../src/telemetry/event-stream.js';
import { eventually, startStack, type Stack } from '../support/stack.js';
import { TestWsClient } from '../support/ws-client.js';
import { sseText } from '../support/sse-text.js';

const BUFFER = 16;
/** Events big enough that a few rounds fill any loopback socket buffer. */
const BLOB = 'x'.repeat(256 * 1024);

describe('the event stream: GET /admin/events (SSE) and WebSocket subscribe', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ config: { events: { subscriberBufferSize: BUFFER, heartbeatMs: 50 }, dedupe: { enabled: false } } });
  });
  afterAll(() => stack.close());

  const chat = (content: string) =>
    fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'streamer' },
      body: JSON.stringify({ model: 'main/test-model', messages: [{ role: 'user', content }] }),
    });
  const subscribers = async () =>
    ((await (await fetch(`${stack.optimizer.url}/admin/events/subscribers`)).json()) as { subscribers: EventStreamStats[] }).subscribers;

  /** Publishes big events in rounds (letting the streams flush between them) until `done` holds. */
  async function flood(done: () => Promise<boolean>): Promise<void> {
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < BUFFER; i++) stack.optimizer.runtime.bus.publish('test.flood', { round, i, blob: BLOB });
      await new Promise((resolve) => setImmediate(resolve));
      if (await done()) return;
    }
    throw new Error('the flood never backed the subscriber up');
  }

  it('streams the subscribed topics as `event:` / `data:` messages, with heartbeats', async () => {
    const controller = new AbortController();
    const response = await fetch(`${stack.optimizer.url}/admin/events?topics=request.completed,cache.*`, { signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const stream = sseText(response);
    await stream.until('event: events.subscribed');
    expect(stream.text).toContain('"topics":["request.completed","cache.*"]');
    expect((await chat('over sse')).status).toBe(200);
    await stream.until('event: request.completed');
    const message = stream.text.slice(stream.text.indexOf('event: request.completed')).split('\n\n')[0]!;
    const data = JSON.parse(message.split('\n')[1]!.slice('data: '.length)) as { type: string; agentId: string; outcome: string };
    expect(data).toMatchObject({ type: 'request.completed', agentId: 'streamer', outcome: 'ok' });
    // request.received is not subscribed.
    expect(stream.text).not.toContain('request.received');
    await stream.until(': heartbeat');
    controller.abort();
    await eventually(async () => (await subscribers()).length === 0, 3000, 'the closed stream to be forgotten');
  });

  it('answers a bad topic pattern with 400 INVALID_REQUEST naming the parameter', async () => {
    const response = await fetch(`${stack.optimizer.url}/admin/events?topics=break*`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: 'INVALID_REQUEST', param: 'topics' });
  });

  it('an SSE subscriber that does not read never slows requests: its buffer stays bounded and its drops are counted and reported', async () => {
    const url = new URL(stack.optimizer.url);
    const socket: Socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`GET /admin/events?topics=* HTTP/1.1\r\nhost: ${url.host}\r\n\r\n`);
    socket.pause(); // never reads: the kernel buffers fill, then res.write says false
    try {
      await eventually(async () => (await subscribers()).length === 1, 3000, 'the SSE subscriber');
      await flood(async () => {
        const [s] = await subscribers();
        return s!.paused && s!.dropped > BUFFER;
      });
      // The request path goes on while the subscriber is stuck.
      for (let i = 0; i < 5; i++) expect((await chat(`while stuck ${i}`)).status).toBe(200);
      const [stuck] = await subscribers();
      expect(stuck).toMatchObject({ transport: 'sse', paused: true, bufferSize: BUFFER });
      expect(stuck!.queued).toBeLessThanOrEqual(BUFFER);
      const dropped = stuck!.dropped;
      expect(dropped).toBeGreaterThan(BUFFER);

      // Reading again: the stream resumes and tells the client how many it lost.
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        // Keep only the tail: the blobs are big.
        if (text.length > 2_000_000) text = text.slice(-1_000_000);
      });
      socket.resume();
      await eventually(() => text.includes('event: events.dropped'), 10_000, 'the events.dropped notice');
      const notice = text.slice(text.indexOf('event: events.dropped')).split('\n')[1]!;
      const { total } = JSON.parse(notice.slice('data: '.length)) as { dropped: number; total: number };
      expect(total).toBeGreaterThanOrEqual(dropped);
      await eventually(async () => (await subscribers())[0]?.paused === false, 10_000, 'the stream to resume');
    } finally {
      socket.destroy();
    }
    await eventually(async () => (await subscribers()).length === 0, 3000, 'the closed stream to be forgotten');
  });

  it('a WebSocket subscriber that does not read is bounded the same way, and its event frames carry the drop count', async () => {
    const client = await TestWsClient.connect(stack.optimizer.url);
    try {
      // Without admin.keyEnv a loopback client may be an admin (as over HTTP): it sees every agent's events and test.*.
      expect(await client.hello('ws-subscriber', { adminKey: 'any: no key is configured' })).toMatchObject({ type: 'welcome', admin: true });
      client.send({ type: 'subscribe', topics: ['test.*', 'request.completed'] });
      await client.next((f) => f.type === 'subscribed');
      client.ws.pause();
      await flood(async () => {
        const s = (await subscribers()).find((x) => x.transport === 'ws');
        return s !== undefined && s.paused && s.dropped > BUFFER;
      });
      for (let i = 0; i < 3; i++) expect((await chat(`ws stuck ${i}`)).status).toBe(200);
      const stuck = (await subscribers()).find((x) => x.transport === 'ws')!;
      expect(stuck.queued).toBeLessThanOrEqual(BUFFER);
      expect(stuck.topics).toEqual(['test.*', 'request.completed']);

      client.ws.resume();
      const notice = await client.next((f) => f.type === 'event' && (f.event as { type: string }).type === 'events.dropped', 10_000);
      expect((notice.event as { total: number }).total).toBeGreaterThan(BUFFER);
      expect(notice.dropped).toBe((notice.event as { total: number }).total);
      // Events after the gap arrive again, in order, with the count so far.
      expect((await chat('after the gap')).status).toBe(200);
      const after = await client.next((f) => f.type === 'event' && (f.event as { type: string }).type === 'request.completed', 10_000);
      expect(after.dropped as number).toBeGreaterThan(BUFFER);
    } finally {
      client.close();
    }
  });
});
