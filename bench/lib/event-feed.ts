/**
 * The optimizer's event stream as a benchmark sees it: one WebSocket session on `/v1/ws` that says
 * `hello` and `subscribe`s to some topics (e.g. `breaker.*`, `backend.failed`); every `event` frame
 * is kept with the time it was received. The events' own `at` is the optimizer's `Date.now()` (whole
 * ms on the wall clock); `receivedAt` is this process's wall clock with sub-ms resolution.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface FeedEvent {
  type: string;
  /** The optimizer's time of the event (ms since the epoch, whole ms). */
  at: number;
  /** When this process received it (ms since the epoch, sub-ms). */
  receivedAt: number;
  [field: string]: unknown;
}

export interface EventFeed {
  readonly events: readonly FeedEvent[];
  /** Highest `dropped` count the optimizer reported (events it did not send because the socket was backed up). */
  readonly dropped: number;
  close(): Promise<void>;
}

const wallNow = (): number => performance.timeOrigin + performance.now();

/** Opens the session, subscribes, and resolves once the optimizer confirmed the subscription. */
export function openEventFeed(origin: string, agentId: string, topics: readonly string[], timeoutMs = 10_000): Promise<EventFeed> {
  const url = `${origin.replace(/^http/, 'ws')}/v1/ws`;
  const events: FeedEvent[] = [];
  let dropped = 0;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`event feed: ${message}`));
    };
    const timer = setTimeout(() => fail(`no subscription after ${timeoutMs} ms`), timeoutMs);
    ws.on('error', (e) => fail(e.message));
    // As an admin: an agent's session sees only its own requests' events (docs/websocket.md), and the
    // feed watches everyone's. The bench's optimizers configure no admin key, so on loopback any
    // key is the admin's.
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', agentId, agentType: 'bench', adminKey: 'bench' })));
    ws.on('message', (data: WebSocket.RawData) => {
      const receivedAt = wallNow();
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        return;
      }
      switch (frame['type']) {
        case 'welcome':
          ws.send(JSON.stringify({ type: 'subscribe', topics }));
          return;
        case 'subscribed':
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            resolve({
              get events() {
                return events;
              },
              get dropped() {
                return dropped;
              },
              close: () =>
                new Promise<void>((done) => {
                  if (ws.readyState === WebSocket.CLOSED) return done();
                  const force = setTimeout(() => {
                    ws.terminate();
                    done();
                  }, 1000);
                  ws.once('close', () => {
                    clearTimeout(force);
                    done();
                  });
                  ws.close();
                }),
            });
          }
          return;
        case 'event': {
          const event = frame['event'] as Record<string, unknown> | undefined;
          if (typeof frame['dropped'] === 'number' && frame['dropped'] > dropped) dropped = frame['dropped'];
          if (event && typeof event['type'] === 'string' && typeof event['at'] === 'number') {
            events.push({ ...event, type: event['type'], at: event['at'], receivedAt });
          }
          return;
        }
        case 'error':
          if (!settled) fail(`refused: ${JSON.stringify(frame['error'])}`);
          return;
      }
    });
  });
}
