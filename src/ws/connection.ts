import type { WebSocket } from 'ws';
import type { AnyActorRef } from 'xstate';
import { sessionFor, tellSession } from '../../actors/session.js';
import { OptimizerError, toOptimizerError } from '../errors/registry.js';
import type { Gateway } from '../gateway/gateway.js';
import { nextRequestId } from '../gateway/request-id.js';
import { validateRequestBody } from '../gateway/validate.js';
import type { AgentDirectory, AgentIdentity } from '../identity/agents.js';
import type { Logger } from '../log/logger.js';
import type { EventBus, OptimizerEvent } from '../telemetry/event-bus.js';
import { EventStream } from '../telemetry/event-stream.js';
import { visibleToAgent } from '../telemetry/event-scope.js';
import { adminAllowed } from '../identity/admin-key.js';
import type { EventStreams } from '../telemetry/event-streams.js';
import type { OptimizerSystem } from '../../actors/system.js';
import type { OptimizerConfig } from '../config/types.js';
import { errorFrame } from './error-frame.js';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, type ClientFrame, type Encoding } from './protocol.js';
import { WsResponder } from './ws-responder.js';
import { CancelSignal } from '../gateway/cancel-signal.js';

/** Past this much unsent on the socket, event frames wait in the subscriber's bounded buffer (src/telemetry/event-stream.ts). */
const EVENT_HIGH_WATER_BYTES = 256 * 1024;

export interface ConnectionDeps {
  system: OptimizerSystem;
  config: OptimizerConfig;
  gateway: Gateway;
  directory: AgentDirectory;
  bus: EventBus;
  logger: Logger;
  /** Where this session's event stream is listed while it has one (/admin/events/subscribers). */
  streams?: EventStreams;
  /** The admin key (`admin.keyEnv`), if one is set: a `hello` carrying it makes an admin session. */
  adminKey?: string | undefined;
  /** The peer's address: without an admin key, only loopback peers may be admins (as over HTTP). */
  remoteAddress?: string | undefined;
}

/**
 * One WebSocket session on `/v1/ws`: `hello` → `welcome`, then any number of
 * requests in flight at once, each answered by its id; `cancel` aborts one; `ping` →
 * `pong`; `subscribe` → `event` frames. A bad frame gets an `error` frame and the
 * session goes on.
 *
 * Events are scoped: an agent's session sees the fleet's operational events and its own
 * requests' events only (src/telemetry/event-scope.ts); a session whose `hello` carried the
 * admin key sees everything, as `GET /admin/events` does.
 */
export class WsConnection {
  #identity: AgentIdentity | undefined;
  /** Set by a `hello` with the admin key; kept for the life of the connection. */
  #admin = false;
  #session: AnyActorRef | undefined;
  readonly #inFlight = new Map<string, CancelSignal>();
  #events: EventStream | undefined;
  #encoding: Encoding = 'json';
  #alive = true;
  readonly #heartbeat: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ConnectionDeps,
  ) {
    ws.on('message', (data, isBinary) => this.#onMessage(toBuffer(data), isBinary));
    ws.on('close', () => this.#onClose());
    ws.on('error', () => undefined); // 'close' follows; nothing else to do
    // Protocol-level keep-alive: a peer that misses a whole interval's pong is dropped.
    ws.on('pong', () => (this.#alive = true));
    this.#heartbeat = setInterval(() => {
      if (!this.#alive) {
        ws.terminate();
        return;
      }
      this.#alive = false;
      ws.ping();
    }, deps.config.sessions.pingIntervalMs);
    this.#heartbeat.unref();
  }

  /** Requests in flight on this session. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  #onMessage(data: Buffer, binary: boolean): void {
    const encoding: Encoding = binary ? 'msgpack' : 'json';
    let frame: ClientFrame;
    try {
      frame = decodeFrame(data, binary);
    } catch (error) {
      const failure = toOptimizerError(error);
      this.#send(errorFrame(failure, failure.details?.id as string | undefined), encoding);
      return;
    }
    try {
      this.#handle(frame, encoding);
    } catch (error) {
      const failure = toOptimizerError(error);
      if (failure.code === 'INTERNAL') this.deps.logger.error({ err: error }, 'websocket frame handling failed');
      // A refused duplicate is not answered under its id: that id still belongs to the request in flight.
      const id = 'id' in frame && failure.code !== 'DUPLICATE_REQUEST_ID' ? frame.id : undefined;
      this.#send(errorFrame(failure, id), encoding);
    }
  }

  #handle(frame: ClientFrame, encoding: Encoding): void {
    switch (frame.type) {
      case 'hello':
        return this.#hello(frame, encoding);
      case 'ping':
        return this.#send({ type: 'pong', ts: frame.ts ?? null }, encoding);
      case 'request':
        return this.#request(frame, encoding);
      case 'cancel': {
        const cancel = this.#inFlight.get(frame.id);
        if (!cancel) throw new OptimizerError('UNKNOWN_REQUEST_ID', `No request '${frame.id}' is in flight on this session.`);
        cancel.abort();
        return;
      }
      case 'subscribe':
        this.#requireWelcome();
        this.#encoding = encoding;
        return this.#send({ type: 'subscribed', topics: this.#eventStream().subscribe(frame.topics) }, encoding);
      case 'unsubscribe':
        return this.#send({ type: 'subscribed', topics: this.#events?.unsubscribe(frame.topics) ?? [] }, encoding);
    }
  }

  #hello(frame: Extract<ClientFrame, { type: 'hello' }>, encoding: Encoding): void {
    const { directory, system, config } = this.deps;
    // Checked first: a refused admin key changes nothing (no identity, no welcome).
    const admin = frame.adminKey !== undefined && this.#checkAdminKey(frame.adminKey);
    const identity = directory.enforced ? directory.byKey(frame.key) : directory.byClaim(frame.agentId, frame.agentType, 'agentId', frame.tenant);
    if (this.#identity && this.#identity.agentId !== identity.agentId) {
      throw new OptimizerError('INVALID_FRAME', 'This session already said hello as another agent; open a new connection.');
    }
    if (!this.#identity) {
      this.#identity = { agentId: identity.agentId, agentType: identity.agentType ?? frame.agentType, tenant: identity.tenant };
      this.#session = sessionFor(system, identity.agentId, this.#identity.agentType, config.sessions);
      tellSession(this.#session, { type: 'session.attached' });
    }
    if (admin) this.#admin = true;
    this.#encoding = encoding;
    this.#send(
      { type: 'welcome', protocol: PROTOCOL_VERSION, agentId: this.#identity.agentId, maxFrameBytes: config.sessions.maxFrameBytes, admin: this.#admin },
      encoding,
    );
  }

  /** True when `adminKey` passes the admin guard (src/identity/admin-key.ts); throws ADMIN_FORBIDDEN otherwise. */
  #checkAdminKey(adminKey: string): boolean {
    const { adminKey: configured, remoteAddress } = this.deps;
    if (adminAllowed(configured, adminKey, remoteAddress)) return true;
    throw new OptimizerError(
      'ADMIN_FORBIDDEN',
      configured !== undefined
        ? 'The `adminKey` of this `hello` is not the admin key; nothing changed (send `hello` again without it to be an agent session).'
        : 'Admin sessions are for loopback clients only unless `admin.keyEnv` is set; nothing changed (send `hello` again without `adminKey`).',
      { param: 'adminKey' },
    );
  }

  #requireWelcome(): AgentIdentity {
    if (!this.#identity) throw new OptimizerError('NOT_WELCOMED', 'Send `hello` first.');
    return this.#identity;
  }

  #request(frame: Extract<ClientFrame, { type: 'request' }>, encoding: Encoding): void {
    const identity = this.#requireWelcome();
    if (this.#inFlight.has(frame.id)) {
      throw new OptimizerError('DUPLICATE_REQUEST_ID', `A request with id '${frame.id}' is still in flight on this session; this one was refused.`, {
        param: 'id',
      });
    }
    const body = validateRequestBody(frame.endpoint, frame.params);
    const cancel = new CancelSignal();
    this.#inFlight.set(frame.id, cancel);
    const responder = new WsResponder(this.ws, frame.id, encoding, () => {
      if (this.#inFlight.get(frame.id) === cancel) this.#inFlight.delete(frame.id);
    });
    void this.deps.gateway.handle(
      {
        requestId: nextRequestId(),
        agentId: identity.agentId,
        agentType: identity.agentType,
        tenant: identity.tenant,
        endpoint: frame.endpoint,
        body,
        stream: frame.endpoint === 'chat.completions' && body.stream === true,
        hints: frame.hints,
        signal: cancel,
      },
      responder,
    );
  }

  #eventStream(): EventStream {
    if (!this.#events) {
      const stream: EventStream = new EventStream(
        this.deps.bus,
        { send: (events): boolean => this.#sendEvents(stream, events) },
        {
          bufferSize: this.deps.config.events.subscriberBufferSize,
          transport: 'ws',
          // Other agents' events are dropped here, before they reach this session's buffer.
          accept: (event) => this.#admin || visibleToAgent(event, this.#identity!.agentId),
          scope: () => (this.#admin ? 'all' : `agent:${this.#identity!.agentId}`),
        },
      );
      this.#events = stream;
      this.deps.streams?.add(stream);
    }
    return this.#events;
  }

  /** Event frames, each with the subscriber's drop count; false (and a resume once flushed) when the socket is backed up. */
  #sendEvents(stream: EventStream, events: readonly OptimizerEvent[]): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return true;
    const last = events.length - 1;
    let backedUp = false;
    events.forEach((event, i) => {
      const data = encodeFrame({ type: 'event', event, dropped: stream.dropped }, this.#encoding);
      // The last frame's callback runs once it has left for the kernel: by then the backlog before it has too.
      if (i === last) this.ws.send(data, () => backedUp && stream.resume());
      else this.ws.send(data);
    });
    backedUp = this.ws.bufferedAmount > EVENT_HIGH_WATER_BYTES;
    return !backedUp;
  }

  #send(frame: object, encoding: Encoding): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeFrame(frame as Record<string, unknown>, encoding));
  }

  #onClose(): void {
    clearInterval(this.#heartbeat);
    for (const cancel of this.#inFlight.values()) cancel.abort();
    this.#inFlight.clear();
    if (this.#events) {
      this.#events.close();
      this.deps.streams?.delete(this.#events);
    }
    if (this.#identity) tellSession(this.#session, { type: 'session.detached' });
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
