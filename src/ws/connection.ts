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
import type { OptimizerSystem } from '../../actors/system.js';
import type { OptimizerConfig } from '../config/types.js';
import { errorFrame } from './error-frame.js';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, type ClientFrame, type Encoding } from './protocol.js';
import { WsResponder } from './ws-responder.js';

/** Event frames are dropped (and counted) while the socket has this much unsent. */
const EVENT_BUFFER_LIMIT_BYTES = 256 * 1024;

export interface ConnectionDeps {
  system: OptimizerSystem;
  config: OptimizerConfig;
  gateway: Gateway;
  directory: AgentDirectory;
  bus: EventBus;
  logger: Logger;
}

/**
 * One WebSocket session on `/v1/ws`: `hello` → `welcome`, then any number of
 * requests in flight at once, each answered by its id; `cancel` aborts one; `ping` →
 * `pong`; `subscribe` → `event` frames. A bad frame gets an `error` frame and the
 * session goes on.
 */
export class WsConnection {
  #identity: AgentIdentity | undefined;
  #session: AnyActorRef | undefined;
  readonly #inFlight = new Map<string, AbortController>();
  readonly #subscriptions = new Map<string, () => void>();
  #encoding: Encoding = 'json';
  #eventsDropped = 0;
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
        const controller = this.#inFlight.get(frame.id);
        if (!controller) throw new OptimizerError('UNKNOWN_REQUEST_ID', `No request '${frame.id}' is in flight on this session.`);
        controller.abort();
        return;
      }
      case 'subscribe':
        this.#requireWelcome();
        this.#encoding = encoding;
        for (const topic of frame.topics) {
          if (!this.#subscriptions.has(topic)) this.#subscriptions.set(topic, this.deps.bus.subscribe(topic, (event) => this.#event(event)));
        }
        return this.#send({ type: 'subscribed', topics: [...this.#subscriptions.keys()] }, encoding);
      case 'unsubscribe':
        for (const topic of frame.topics) {
          this.#subscriptions.get(topic)?.();
          this.#subscriptions.delete(topic);
        }
        return this.#send({ type: 'subscribed', topics: [...this.#subscriptions.keys()] }, encoding);
    }
  }

  #hello(frame: Extract<ClientFrame, { type: 'hello' }>, encoding: Encoding): void {
    const { directory, system, config } = this.deps;
    const identity = directory.enforced ? directory.byKey(frame.key) : directory.byClaim(frame.agentId, frame.agentType, 'agentId', frame.tenant);
    if (this.#identity && this.#identity.agentId !== identity.agentId) {
      throw new OptimizerError('INVALID_FRAME', 'This session already said hello as another agent; open a new connection.');
    }
    if (!this.#identity) {
      this.#identity = { agentId: identity.agentId, agentType: identity.agentType ?? frame.agentType, tenant: identity.tenant };
      this.#session = sessionFor(system, identity.agentId, this.#identity.agentType, config.sessions);
      tellSession(this.#session, { type: 'session.attached' });
    }
    this.#encoding = encoding;
    this.#send(
      { type: 'welcome', protocol: PROTOCOL_VERSION, agentId: this.#identity.agentId, maxFrameBytes: config.sessions.maxFrameBytes },
      encoding,
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
    const controller = new AbortController();
    this.#inFlight.set(frame.id, controller);
    const responder = new WsResponder(this.ws, frame.id, encoding, () => {
      if (this.#inFlight.get(frame.id) === controller) this.#inFlight.delete(frame.id);
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
        signal: controller.signal,
      },
      responder,
    );
  }

  #event(event: OptimizerEvent): void {
    if (this.ws.bufferedAmount > EVENT_BUFFER_LIMIT_BYTES) {
      this.#eventsDropped++;
      return;
    }
    this.#send({ type: 'event', event, dropped: this.#eventsDropped }, this.#encoding);
  }

  #send(frame: object, encoding: Encoding): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeFrame(frame as Record<string, unknown>, encoding));
  }

  #onClose(): void {
    clearInterval(this.#heartbeat);
    for (const controller of this.#inFlight.values()) controller.abort();
    this.#inFlight.clear();
    for (const unsubscribe of this.#subscriptions.values()) unsubscribe();
    this.#subscriptions.clear();
    if (this.#identity) tellSession(this.#session, { type: 'session.detached' });
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
