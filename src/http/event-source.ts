import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OptimizerConfig } from '../config/types.js';
import { OptimizerError } from '../errors/registry.js';
import type { EventBus, OptimizerEvent } from '../telemetry/event-bus.js';
import { EventStream, parseTopics } from '../telemetry/event-stream.js';
import type { EventStreams } from '../telemetry/event-streams.js';

export interface EventSourceDeps {
  bus: EventBus;
  config: OptimizerConfig;
  streams: EventStreams;
}

/** One bus event as an SSE message: `event: <type>` and `data: <json>`. */
export function sseMessage(event: OptimizerEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * `GET /admin/events?topics=breaker.*,dlq.*`: bus events as Server-Sent Events, through a
 * bounded per-subscriber buffer (src/telemetry/event-stream.ts). The stream opens with an
 * `events.subscribed` message naming the topics and the buffer size; a comment line every
 * `events.heartbeatMs` keeps proxies from timing it out; `events.dropped` says how many
 * events were lost when this client read too slowly. Backpressure: when `res.write`
 * returns false, nothing more is written until the socket drains.
 */
export function serveEventSource(req: IncomingMessage, res: ServerResponse, deps: EventSourceDeps): void {
  let topics: string[];
  try {
    topics = parseTopics(new URL(req.url ?? '/', 'http://x').searchParams.get('topics'));
  } catch (error) {
    throw new OptimizerError('INVALID_REQUEST', (error as Error).message, { param: 'topics' });
  }
  const bufferSize = deps.config.events.subscriberBufferSize;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no', // nginx: do not buffer the stream
  });
  res.socket?.setNoDelay(true);

  const stream: EventStream = new EventStream(
    deps.bus,
    {
      send: (events) => {
        let text = '';
        for (const event of events) text += sseMessage(event);
        if (res.write(text)) return true;
        res.once('drain', () => stream.resume());
        return false;
      },
    },
    { bufferSize, transport: 'sse' },
  );
  const subscribed = stream.subscribe(topics);
  deps.streams.add(stream);
  res.write(`retry: 2000\n${sseMessage({ type: 'events.subscribed', at: Date.now(), topics: subscribed, bufferSize })}`);

  const heartbeat = setInterval(() => {
    // A client that is not reading needs no heartbeat: its socket is full, not idle.
    if (!res.writableNeedDrain) res.write(`: heartbeat ${Date.now()}\n\n`);
  }, deps.config.events.heartbeatMs);
  heartbeat.unref();

  res.on('close', () => {
    clearInterval(heartbeat);
    stream.close();
    deps.streams.delete(stream);
  });
}
