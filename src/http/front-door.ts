import type { ResponseCache } from '../cache/response-cache.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AnyActorRef } from 'xstate';
import type { Limiter } from '../limits/limiter.js';
import type { DeadLetters } from '../dlq/dead-letters.js';
import type { QuotaTracker } from '../resilience/quota.js';
import { isDeadLetterId } from '../dlq/dead-letter-id.js';
import type { WorkerPool } from '../workers/pool.js';
import type { OptimizerSystem } from '../../actors/system.js';
import type { OptimizerConfig } from '../config/types.js';
import { OptimizerError, toOptimizerError } from '../errors/registry.js';
import { Gateway } from '../gateway/gateway.js';
import { nextRequestId } from '../gateway/request-id.js';
import type { Endpoint, RequestHints } from '../gateway/types.js';
import { validateRequestBody } from '../gateway/validate.js';
import { healthReport } from '../health/report.js';
import type { AgentDirectory } from '../identity/agents.js';
import { bearer } from '../identity/agents.js';
import { adminAllowed } from '../identity/admin-key.js';
import type { Logger } from '../log/logger.js';
import type { RoutingTable } from '../routing/table.js';
import type { EventBus } from '../telemetry/event-bus.js';
import { WsConnection } from '../ws/connection.js';
import { readJsonBody } from './body.js';
import { POOL_HASH_THRESHOLD_BYTES } from '../keys/key-service.js';
import { sendHttpError } from './error-response.js';
import { CancelSignal } from '../gateway/cancel-signal.js';
import { HttpResponder } from './http-responder.js';
import { modelList } from './models.js';
import { callBackend } from '../../actors/backend.js';
import type { Discovery } from '../discovery/discovery.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Alerts } from '../alerts/alerts.js';
import { EventStreams } from '../telemetry/event-streams.js';
import { serveEventSource } from './event-source.js';
import { machineCharts } from '../statecharts/machines.js';
import { serveDashboard } from '../dashboard/serve.js';
import { readAll } from '../upstream/body.js';

export interface FrontDoorDeps {
  system: OptimizerSystem;
  /** The root supervisor, for /health. */
  root: () => AnyActorRef | undefined;
  config: OptimizerConfig;
  logger: Logger;
  bus: EventBus;
  directory: AgentDirectory;
  table: RoutingTable;
  /** The process's response cache (one per process, in the store's LMDB environment). */
  cache: ResponseCache;
  /** The process's rate limiter. */
  limiter: Limiter;
  /** The dead-letter queue. */
  deadLetters: DeadLetters;
  /** Per backend: what its rate-limit headers said. */
  quotas: ReadonlyMap<string, QuotaTracker>;
  /** The worker pool while the store actor runs. */
  pool: () => WorkerPool | undefined;
  /** Which backends are reachable, and what the local servers list (src/discovery/). */
  discovery?: Discovery;
  /** The admin key (from `admin.keyEnv`), if one is set. */
  adminKey: string | undefined;
  /** Metrics for /metrics and /admin/stats (undefined when disabled). */
  metrics?: Metrics | undefined;
  startedAt: number;
  /** The alert engine while the telemetry actor runs. */
  alerts?: () => Alerts | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, path: string) => void | Promise<void>;

/** After the shutdown grace, how long cut requests get to be dead-lettered before the store closes. */
const DEAD_LETTER_GRACE_MS = 2_000;

/** Paths accepted with or without the `/v1` prefix (and Goose's custom `/openai` base path). */
function apiPaths(suffix: string): string[] {
  return [`/v1${suffix}`, suffix, `/openai${suffix}`, `/openai/v1${suffix}`];
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The front door: one HTTP server on one port for the OpenAI-compatible API, health
 * and admin, with the WebSocket door (`/v1/ws`) on the same port.
 */
export class FrontDoor {
  readonly gateway: Gateway;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<WsConnection>();
  readonly #routes = new Map<string, Partial<Record<string, Handler>>>();
  /** Live event subscribers (SSE and WebSocket `subscribe`). */
  readonly eventStreams = new EventStreams();
  #draining = false;

  constructor(private readonly deps: FrontDoorDeps) {
    const { config } = deps;
    this.gateway = new Gateway({ system: deps.system, config, logger: deps.logger, bus: deps.bus, cache: deps.cache, limiter: deps.limiter, pool: deps.pool, deadLetters: deps.deadLetters, quotas: deps.quotas, availability: deps.discovery?.availability, backends: deps.discovery?.backends.bind(deps.discovery) });
    this.#server = createServer({ keepAliveTimeout: config.server.keepAliveTimeoutMs, requestTimeout: config.server.requestTimeoutMs }, (req, res) =>
      this.#onRequest(req, res),
    );
    this.#server.headersTimeout = Math.min(config.server.requestTimeoutMs, 60_000);
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: config.sessions.maxFrameBytes, clientTracking: true });
    this.#server.on('upgrade', (req, socket, head) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/v1/ws' || this.#draining) {
        socket.end(this.#draining ? 'HTTP/1.1 503 Service Unavailable\r\n\r\n' : 'HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onWebSocket(ws, req.socket.remoteAddress));
    });
    this.#server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });

    const completion = (endpoint: Endpoint): Handler => (req, res) => this.#completion(req, res, endpoint);
    for (const p of apiPaths('/chat/completions')) this.#routes.set(p, { POST: completion('chat.completions') });
    for (const p of apiPaths('/embeddings')) this.#routes.set(p, { POST: completion('embeddings') });
    for (const p of apiPaths('/models')) this.#routes.set(p, { GET: (_req, res) => sendJson(res, 200, modelList(deps.table, deps.discovery)) });
    this.#routes.set('/health', { GET: (_req, res) => this.#health(res) });
    this.#routes.set('/admin/actors', { GET: (req, res) => this.#admin(req, res, () => sendJson(res, 200, this.health().tree)) });
    this.#routes.set('/admin/dlq', { GET: (req, res) => this.#admin(req, res, () => this.#listDeadLetters(req, res)) });
    this.#routes.set('/admin/backends', { GET: (req, res) => this.#admin(req, res, () => sendJson(res, 200, this.health().backends)) });
    const discovery = deps.discovery;
    if (discovery) {
      // What discovery probes and found; `refresh` runs a round now (a server just started need not wait for the next one).
      this.#routes.set('/admin/discovery', { GET: (req, res) => this.#admin(req, res, () => sendJson(res, 200, discovery.report())) });
      this.#routes.set('/admin/discovery/refresh', {
        POST: (req, res) => this.#admin(req, res, () => void discovery.refresh().then(() => sendJson(res, 200, discovery.report()), (error: unknown) => this.#fail(res, error))),
      });
    }
    this.#routes.set('/metrics', {
      GET: (req, res) => (config.metrics.adminOnly ? this.#admin(req, res, () => void this.#metrics(res)) : this.#metrics(res)),
    });
    this.#routes.set('/admin/stats', { GET: (req, res) => this.#admin(req, res, () => this.#stats(res)) });
    // Observability (docs/observability.md): the event stream, alerts, statecharts, the dashboard.
    this.#routes.set('/admin/events', { GET: (req, res) => this.#admin(req, res, () => serveEventSource(req, res, { bus: deps.bus, config, streams: this.eventStreams })) });
    this.#routes.set('/admin/events/subscribers', { GET: (req, res) => this.#admin(req, res, () => sendJson(res, 200, { subscribers: this.eventStreams.stats() })) });
    this.#routes.set('/admin/alerts', { GET: (req, res) => this.#admin(req, res, () => sendJson(res, 200, deps.alerts?.()?.report() ?? { active: [], recent: [], rules: config.alerts.rules, webhook: null })) });
    this.#routes.set('/admin/machines', { GET: (req, res) => this.#admin(req, res, () => sendJson(res, 200, machineCharts())) });
    for (const p of ['/dashboard', '/dashboard/']) this.#routes.set(p, { GET: (req, res) => serveDashboard(req, res, 'index.html') });
    // What the page needs to know before it asks anything: whether to prompt for the admin key, which endpoints exist.
    this.#routes.set('/dashboard/manifest.json', {
      GET: (_req, res) => sendJson(res, 200, { adminKeyRequired: deps.adminKey !== undefined, endpoints: { stats: this.#routes.has('/admin/stats'), metrics: this.#routes.has('/metrics') } }),
    });
  }

  /** Starts listening on `server.host`:`port` (default `server.port`; 0 = any free port). */
  listen(port = this.deps.config.server.port): Promise<AddressInfo> {
    const { host } = this.deps.config.server;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Fails with the server's error once listening (for the actor wrapping it). */
  onFatal(listener: (error: Error) => void): void {
    this.#server.on('error', listener);
  }

  health() {
    const root = this.deps.root();
    if (!root) throw new OptimizerError('INTERNAL', 'The supervision tree is not running.');
    return healthReport(root, { startedAt: this.deps.startedAt, inFlight: this.gateway.inFlight, draining: this.#draining, discovery: this.deps.discovery, quotas: this.deps.quotas });
  }

  /**
   * Graceful stop: refuse new work, let what is in flight finish for up to `graceMs`,
   * then close WebSocket sessions with 1001 (going away) and cut what is left.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.#server.close();
    this.#server.closeIdleConnections();
    await this.#idleWithin(graceMs);
    // What is still in flight is cut: the gateway dead-letters it (nothing accepted is lost),
    // which takes a durable write each; give those a moment before the store closes.
    this.gateway.shuttingDown = true;
    this.close();
    await this.#idleWithin(DEAD_LETTER_GRACE_MS);
  }

  async #idleWithin(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.gateway.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** Closes everything now (idempotent). */
  close(): void {
    this.#draining = true;
    this.eventStreams.closeAll();
    for (const ws of this.#wss.clients) ws.close(1001, 'optimizer shutting down');
    this.#wss.close();
    this.#server.close();
    this.#server.closeAllConnections();
    // Sockets that ignore the close frame are cut shortly after.
    setTimeout(() => {
      for (const ws of this.#wss.clients) ws.terminate();
    }, 1000).unref();
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const methods = this.#routes.get(path);
    if (!methods) {
      if (path.startsWith('/dashboard/') && (req.method === 'GET' || req.method === 'HEAD')) return serveDashboard(req, res, path.slice('/dashboard/'.length));
      if (path.startsWith('/admin/backends/') && path.endsWith('/models')) {
        if (req.method !== 'GET') return this.#methodNotAllowed(req, res, path, ['GET']);
        const backendId = decodeURIComponent(path.slice('/admin/backends/'.length, -'/models'.length));
        return void this.#admin(req, res, () => void this.#upstreamModels(res, backendId).catch((error: unknown) => this.#fail(res, error)));
      }
      if (path.startsWith('/admin/dlq/')) return void this.#admin(req, res, () => void this.#deadLetter(req, res, path).catch((error: unknown) => this.#fail(res, error)));
      if (path.startsWith('/admin/actors/') && path.endsWith('/crash')) {
        if (req.method !== 'POST') return this.#methodNotAllowed(req, res, path, ['POST']);
        return void this.#admin(req, res, () => this.#crash(res, decodeURIComponent(path.slice('/admin/actors/'.length, -'/crash'.length))));
      }
      req.resume();
      return sendHttpError(res, new OptimizerError('NOT_FOUND', `No route for ${req.method} ${path}.`));
    }
    const handler = methods[req.method ?? 'GET'];
    if (!handler) return this.#methodNotAllowed(req, res, path, Object.keys(methods));
    if (this.#draining && path !== '/health') {
      req.resume();
      return sendHttpError(res, new OptimizerError('SHUTTING_DOWN', 'The optimizer is shutting down; retry on another instance.'), undefined, { connection: 'close' });
    }
    // A handler may throw before its first await (a bad query parameter): that is an answer, not a crash.
    let result;
    try {
      result = handler(req, res, path);
    } catch (error) {
      return this.#fail(res, error);
    }
    if (result) result.catch((error: unknown) => this.#fail(res, error));
  }

  #methodNotAllowed(req: IncomingMessage, res: ServerResponse, path: string, allowed: string[]): void {
    req.resume();
    const message = `${req.method} is not allowed on ${path}; use ${allowed.join(' or ')}.`;
    sendHttpError(res, new OptimizerError('METHOD_NOT_ALLOWED', message), undefined, { allow: allowed.join(', ') });
  }

  #fail(res: ServerResponse, error: unknown, requestId?: string): void {
    const failure = toOptimizerError(error);
    if (failure.code === 'INTERNAL') this.deps.logger.error({ err: error, requestId }, 'request handling failed');
    sendHttpError(res, failure, requestId);
  }

  async #completion(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint): Promise<void> {
    const requestId = nextRequestId();
    const { config, directory } = this.deps;
    let body: Record<string, unknown>;
    let bodyText: string | undefined;
    let bodyBytes = 0;
    let identity;
    try {
      // Check the key before reading a body we may not want.
      if (directory.enforced) identity = directory.byKey(bearer(header(req, 'authorization')));
      const received = await readJsonBody(req, config.server.maxBodyBytes, POOL_HASH_THRESHOLD_BYTES);
      body = validateRequestBody(endpoint, received.value);
      bodyText = received.text;
      bodyBytes = received.bytes;
      identity ??= directory.fromHttp(undefined, header(req, 'x-agent-id'), header(req, 'x-agent-type'), body, header(req, 'x-tenant-id'));
    } catch (error) {
      return this.#fail(res, error, requestId);
    }
    const signal = new CancelSignal();
    res.once('close', () => {
      if (!res.writableFinished) signal.abort();
    });
    const hints: RequestHints = {};
    const backend = header(req, 'x-backend');
    if (backend !== undefined) hints.backend = backend;
    const taskType = header(req, 'x-task-type');
    if (taskType !== undefined) hints.taskType = taskType;
    const priority = Number(header(req, 'x-priority'));
    if (Number.isFinite(priority) && header(req, 'x-priority') !== undefined) hints.priority = priority;
    const cacheControl = header(req, 'cache-control');
    if (cacheControl !== undefined) hints.cacheControl = cacheControl;

    // Returned, not awaited: this frame need not live while the request is answered (500 in flight were 500 frames).
    return this.gateway.handle(
      {
        requestId,
        agentId: identity.agentId,
        agentType: identity.agentType,
        tenant: identity.tenant,
        endpoint,
        body,
        bodyText,
        bodyBytes,
        stream: endpoint === 'chat.completions' && body.stream === true,
        hints,
        signal,
      },
      new HttpResponder(res, requestId),
    );
  }

  #health(res: ServerResponse): void {
    const report = this.health();
    sendJson(res, report.status === 'draining' ? 503 : 200, report);
  }

  /** `GET /metrics`: the Prometheus text format (open like /health unless `metrics.adminOnly`). */
  async #metrics(res: ServerResponse): Promise<void> {
    const { metrics } = this.deps;
    if (!metrics) return sendHttpError(res, new OptimizerError('NOT_FOUND', 'Metrics are disabled (`metrics.enabled: false`).'));
    const text = await metrics.prometheusText();
    res.writeHead(200, { 'content-type': metrics.prometheus.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }

  /** `GET /admin/stats`: counters, the 60-minute timeline, gauges and latency (docs/observability.md). */
  #stats(res: ServerResponse): void {
    const { metrics } = this.deps;
    if (!metrics) return sendHttpError(res, new OptimizerError('NOT_FOUND', 'Metrics are disabled (`metrics.enabled: false`).'));
    sendJson(res, 200, metrics.stats());
  }

  #admin(req: IncomingMessage, res: ServerResponse, handle: () => void): void {
    req.resume();
    const { adminKey } = this.deps;
    const allowed = adminAllowed(adminKey, bearer(header(req, 'authorization')), req.socket.remoteAddress);
    if (!allowed) {
      return sendHttpError(res, new OptimizerError('ADMIN_FORBIDDEN', adminKey !== undefined ? 'Send the admin key as `Authorization: Bearer <key>`.' : 'Admin endpoints answer loopback clients only unless `admin.keyEnv` is set.'));
    }
    handle();
  }

  /**
   * The backend's own model list, asked in its provider's dialect (the adapter's `listModels`:
   * `/models`, Anthropic's `/v1/models`, Gemini's `/models`, Ollama's `/api/tags`) and answered in
   * OpenAI's list shape: what is really reachable there.
   */
  async #upstreamModels(res: ServerResponse, backendId: string): Promise<void> {
    if (!this.deps.table.backends.has(backendId)) {
      throw new OptimizerError('BACKEND_NOT_FOUND', `No backend named '${backendId}' is configured.`);
    }
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const adapter = this.gateway.adapterOf(backendId);
    const call = adapter.listModels();
    const upstream = await callBackend(this.deps.system, backendId, { method: call.method, path: call.path, signal: controller.signal, stream: false });
    const text = (await readAll(upstream.body)).toString('utf8');
    if (upstream.status >= 400) throw adapter.error(upstream.status, upstream.headers, text, backendId);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${backendId} answered ${call.path} with a body that is not JSON.`);
    }
    sendJson(res, 200, adapter.modelList(value));
  }

  /** `GET /admin/dlq?limit=&before=`: dead letters, newest first, with a cursor for the next page. */
  #listDeadLetters(req: IncomingMessage, res: ServerResponse): void {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const limit = query.get('limit');
    const before = query.get('before');
    try {
      const page = this.deps.deadLetters.list({
        ...(limit !== null ? { limit: Number(limit) } : {}),
        ...(before !== null ? { before } : {}),
      });
      sendJson(res, 200, { ...page, count: this.deps.deadLetters.count() });
    } catch (error) {
      if (error instanceof RangeError) throw new OptimizerError('INVALID_REQUEST', error.message, { param: 'limit' });
      throw dlqFailure(error);
    }
  }

  /** `GET|DELETE /admin/dlq/:id`, `POST /admin/dlq/:id/replay` (through the normal request path). */
  async #deadLetter(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const rest = path.slice('/admin/dlq/'.length);
    const replay = rest.endsWith('/replay');
    const id = decodeURIComponent(replay ? rest.slice(0, -'/replay'.length) : rest);
    const allowed = replay ? ['POST'] : ['GET', 'DELETE'];
    if (!allowed.includes(req.method ?? 'GET')) return this.#methodNotAllowed(req, res, path, allowed);
    const { deadLetters } = this.deps;
    let entry;
    try {
      entry = isDeadLetterId(id) ? deadLetters.get(id) : undefined;
    } catch (error) {
      throw dlqFailure(error);
    }
    if (!entry) throw new OptimizerError('DLQ_NOT_FOUND', `No dead letter '${id}'.`);
    if (req.method === 'GET') return sendJson(res, 200, entry);
    if (req.method === 'DELETE') {
      await deadLetters.remove(id).catch((error: unknown) => Promise.reject(dlqFailure(error)));
      res.writeHead(204);
      res.end();
      return;
    }
    // Replay: the stored request goes through the normal path again, answered here as JSON.
    const requestId = nextRequestId();
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const responder = new HttpResponder(res, requestId);
    let outcome = 'ok';
    const original = responder.error.bind(responder);
    responder.error = (error) => {
      outcome = error.code;
      original(error);
    };
    // Awaited (unlike a client's request): the replay's outcome is recorded once it is answered.
    await this.gateway.handle(
      {
        requestId,
        agentId: entry.agentId,
        agentType: undefined,
        tenant: entry.tenant,
        endpoint: entry.endpoint,
        body: { ...entry.body, stream: false },
        stream: false,
        hints: entry.hints,
        signal: controller.signal,
        replayOf: entry.id,
      },
      responder,
    );
    await deadLetters.recordReplay(id, { at: Date.now(), outcome, requestId }).catch(() => undefined);
  }

  #crash(res: ServerResponse, systemId: string): void {
    if (!this.deps.config.admin.allowFaultInjection) {
      return sendHttpError(res, new OptimizerError('FAULT_INJECTION_DISABLED', 'Set `admin.allowFaultInjection: true` to crash actors on purpose.'));
    }
    const ref = this.deps.system.get(systemId) as AnyActorRef | undefined;
    if (!ref || ref.getSnapshot().status !== 'active') {
      return sendHttpError(res, new OptimizerError('NOT_FOUND', `No running actor '${systemId}'.`));
    }
    ref.send({ type: 'debug.crash' });
    sendJson(res, 202, { crashed: systemId });
  }

  #onWebSocket(ws: WebSocket, remoteAddress: string | undefined): void {
    const connection = new WsConnection(ws, {
      adminKey: this.deps.adminKey,
      remoteAddress,
      system: this.deps.system,
      config: this.deps.config,
      gateway: this.gateway,
      directory: this.deps.directory,
      bus: this.deps.bus,
      logger: this.deps.logger,
      streams: this.eventStreams,
    });
    this.#connections.add(connection);
    ws.on('close', () => this.#connections.delete(connection));
  }
}

/** A dead-letter store failure as the registry's DLQ_UNAVAILABLE. */
function dlqFailure(error: unknown): OptimizerError {
  if (error instanceof OptimizerError) return error;
  return new OptimizerError('DLQ_UNAVAILABLE', `The dead-letter queue is unavailable: ${(error as Error).message}`, { cause: error });
}
