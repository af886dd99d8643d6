import type { Cancellation } from './cancel-signal.js';
import type { OptimizerSystem } from '../../actors/system.js';
import { callBackend } from '../../actors/backend.js';
import { resolveVia } from '../../actors/router.js';
import { SessionLoad, sessionFor } from '../../actors/session.js';
import type { BackendConfig, OptimizerConfig } from '../config/types.js';
import { OptimizerError, toOptimizerError } from '../errors/registry.js';
import type { Logger } from '../log/logger.js';
import type { EventBus } from '../telemetry/event-bus.js';
import type { AdapterRequest, ProviderAdapter } from '../providers/adapter.js';
import { adapterFor, adaptersFor } from '../providers/adapters.js';
import { relayJson, relayStream } from './relay.js';
import { readText } from '../upstream/body.js';
import type { CompletedAnswer } from '../cache/answer.js';
import { cachePolicy } from '../cache/policy.js';
import { replayAnswer } from '../cache/replay.js';
import { ResponseCache } from '../cache/response-cache.js';
import { Flight } from '../dedupe/flight.js';
import { DedupeRegistry } from '../dedupe/registry.js';
import { isDeterministic, requestKey } from '../keys/request-key.js';
import { computeRequestKey } from '../keys/key-service.js';
import type { WorkerPool } from '../workers/pool.js';
import type { DeadLetters } from '../dlq/dead-letters.js';
import type { QuotaTracker } from '../resilience/quota.js';
import { randomSource } from '../resilience/random.js';
import { Delivery } from './delivery.js';
import { Turns } from './turns.js';
import { isAutoModel, type RoutePlan, type RouteTarget } from '../routing/table.js';
import type { Limiter, LimitRequest } from '../limits/limiter.js';
import { admissionBackend, skippedAtOnce } from './backend-limits.js';
import { estimateTokens } from '../keys/tokens.js';
import type { GatewayRequest, Responder, ResponseMeta } from './types.js';
import type { Availability } from '../discovery/availability.js';
import { completedEventFields } from './completed-event.js';
import { AnswerUsage } from './usage.js';

/** Largest error body read from a backend (the rest is dropped). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;


export interface GatewayDeps {
  system: OptimizerSystem;
  config: OptimizerConfig;
  logger: Logger;
  bus: EventBus;
  /** The process's response cache (the runtime's: the store actor opens and flushes it). */
  cache: ResponseCache;
  /** The process's rate limiter (shared by every door). */
  limiter: Limiter;
  /** The worker pool while the store actor runs. */
  pool: () => WorkerPool | undefined;
  /** Where requests that exhausted every backend are kept. */
  deadLetters: DeadLetters;
  /** Per backend: what its rate-limit headers said. */
  quotas: ReadonlyMap<string, QuotaTracker>;
  /** Which backends are disabled or down (src/discovery/availability.ts). */
  availability?: Availability | undefined;
  /** Every backend known now, configured and discovered (for the adapter of one found after start). */
  backends?: (() => readonly BackendConfig[]) | undefined;
  /** Wall clock for the dedupe window and provider timestamps (injected in tests). */
  now?: () => number;
}

/**
 * The request path shared by the HTTP and WebSocket doors (DESIGN.md §2):
 * session → route → backend call → relay the answer. Cache, dedupe and limits plug in
 * between the session and the route; failover and retries around the backend call.
 */
export class Gateway {
  #inFlight = 0;
  #shuttingDown = false;
  #idleWaiters: (() => void)[] = [];
  readonly #cache: ResponseCache;
  readonly #dedupe: DedupeRegistry;
  readonly #load = new SessionLoad();
  readonly #turns = new Turns();
  readonly #delivery: Delivery;
  /** Each backend's provider adapter (built once; src/providers/adapters.ts). */
  readonly #adapters: Map<string, ProviderAdapter>;
  readonly #now: () => number;
  /** Token estimates are only worth computing when some tokens-per-minute limit is configured. */
  readonly #countTokens: boolean;

  constructor(private readonly deps: GatewayDeps) {
    const now = deps.now ?? Date.now;
    this.#now = now;
    this.#adapters = adaptersFor(deps.config.backends);
    this.#cache = deps.cache;
    this.#dedupe = new DedupeRegistry(deps.config.dedupe.enabled ? deps.config.dedupe.windowMs : 0, now);
    this.#delivery = new Delivery({
      system: deps.system,
      config: deps.config,
      bus: deps.bus,
      deadLetters: deps.deadLetters,
      quotas: deps.quotas,
      availability: deps.availability,
      random: randomSource(deps.config.resilience.jitterSeed),
      now,
      shuttingDown: () => this.#shuttingDown,
      limiter: deps.limiter,
    });
    const { limits, agents, backends } = deps.config;
    this.#countTokens =
      limits.global.tokensPerMinute !== undefined ||
      limits.perAgent.tokensPerMinute !== undefined ||
      agents.some((a) => a.limits?.tokensPerMinute !== undefined) ||
      backends.some((b) => b.limits?.tokensPerMinute !== undefined);
  }

  /** Set when the shutdown grace has run out: requests cut from now on are dead-lettered, not dropped. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  set shuttingDown(value: boolean) {
    this.#shuttingDown = value;
  }

  /** Requests being answered right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Answers one request through `res`. Never throws: every failure becomes `res.error`. */
  async handle(req: GatewayRequest, res: Responder): Promise<void> {
    const { system, config, bus } = this.deps;
    const startedAt = performance.now();
    this.#inFlight++;
    let session;
    let counted = false;
    let outcome = 'ok';
    let status = 200;
    let meta: ResponseMeta | undefined;
    // For request.completed (built only when someone listens): the upstream answer's tokens,
    // or the answer a hit or a join got instead of an upstream call.
    let usage: AnswerUsage | undefined;
    let savedAnswer: CompletedAnswer | undefined;
    let promptTokens: number | undefined;
    // Where a failure goes: the client, or the flight that fans it out to every joiner.
    let sink: Responder = res;
    // What cancels the upstream work: the request's own signal, or its flight's.
    let signal: Cancellation | undefined;
    try {
      // Under a burst, requests take turns so the loop still serves /health and streams (turns.ts).
      const turn = this.#turns.turn(this.#inFlight > 1);
      if (turn) await turn;
      session = sessionFor(system, req.agentId, req.agentType, config.sessions);
      this.#load.started(session, req.agentId);
      counted = true;
      // Per-request events: their fields are built only when someone listens (debug log, subscribers).
      if (bus.wants('request.received')) bus.publish('request.received', { requestId: req.requestId, agentId: req.agentId, endpoint: req.endpoint, stream: req.stream });

      const route = this.#route(req);
      promptTokens = route.promptTokens; // counted already when `auto` was classified
      meta = {
        requestId: req.requestId,
        backend: route.target.backendId,
        model: route.target.name,
        routeReason: route.reason,
        cache: 'bypass',
      };
      const policy = cachePolicy(config, req, route.target.name, isDeterministic(req.body, req.endpoint));
      const includeUsage = req.stream && (req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;

      let flight: Flight | undefined;
      if (policy.read || policy.write || policy.joinInFlight || policy.joinRecent) {
        const keyInput = { endpoint: req.endpoint, body: req.body, model: route.target.name, tenant: req.tenant };
        // Large bodies are keyed in the worker pool (the main thread serves others meanwhile).
        const pool = this.deps.pool();
        let key: string;
        if (req.bodyText !== undefined && pool) {
          const hashed = await computeRequestKey(keyInput, { text: req.bodyText, bytes: req.bodyBytes ?? req.bodyText.length, pool });
          key = hashed.key;
          promptTokens = hashed.tokens; // estimated in the worker too
        } else key = requestKey(keyInput);
        if (policy.read) {
          const entry = this.#cache.get(key);
          if (entry) {
            outcome = 'cache.hit';
            if (bus.wants('cache.hit')) bus.publish('cache.hit', { requestId: req.requestId, agentId: req.agentId, model: route.target.name });
            const answer = ResponseCache.toAnswer(entry);
            savedAnswer = answer;
            status = answer.status;
            meta.cache = 'hit';
            replayAnswer(answer, res, meta, req.stream, includeUsage);
            return;
          }
          if (bus.wants('cache.miss')) bus.publish('cache.miss', { requestId: req.requestId, agentId: req.agentId, model: route.target.name });
        }
        if (policy.read || policy.write) meta.cache = 'miss';
        if (policy.joinRecent) {
          // An answer the cache also stored is kept only there; the cache read above already missed it.
          const recent = this.#dedupe.recent(key) ?? (policy.read ? undefined : this.#recentInCache(key));
          if (recent) {
            outcome = 'dedupe.joined';
            bus.publish('dedupe.joined', { requestId: req.requestId, agentId: req.agentId, model: route.target.name, finished: true });
            savedAnswer = recent;
            meta.dedupe = 'joined';
            replayAnswer(recent, res, meta, req.stream, includeUsage);
            return;
          }
        }
        if (policy.joinInFlight) {
          const joined = this.#dedupe.flight(key);
          if (joined) {
            outcome = 'dedupe.joined';
            bus.publish('dedupe.joined', { requestId: req.requestId, agentId: req.agentId, model: route.target.name, finished: false });
            meta.dedupe = 'joined';
            await this.#follow(joined, res, req, 'joined', includeUsage);
            if (joined.answer) {
              savedAnswer = joined.answer;
              meta.backend = joined.answer.backend;
            } else {
              // The flight failed (the joiner got its error), or this client left it.
              const failure = joined.failure ?? new OptimizerError('CANCELLED', 'The request was cancelled.');
              outcome = failure.code;
              status = failure.status;
            }
            return;
          }
          flight = this.#dedupe.start(key, policy.write ? policy.ttlMs : 0);
        }
        if (policy.write) {
          const store = (answer: CompletedAnswer | undefined) => {
            if (answer && answer.status < 400) this.#cache.put(key, answer, req.endpoint, policy.ttlMs);
          };
          if (flight) flight.onSettled(store);
          else {
            // No dedupe: a flight of one, so the answer can still be captured for the cache.
            flight = new Flight(key);
            flight.onSettled(store);
          }
        }
      }

      let settled: Promise<void> | undefined;
      if (flight) {
        settled = this.#follow(flight, res, req, 'leader', includeUsage);
        sink = flight;
        signal = flight.cancel;
        if (policy.joinInFlight) meta.dedupe = 'leader';
      }
      signal ??= req.signal;
      // Nothing to call (no key set, no local server up): say what to set, without queueing.
      if (this.deps.availability?.anyUsable === false) throw this.deps.availability.nothingReachableError();
      // Limits last: cache hits and dedupe joins never reach this point, so they use no quota.
      let admission: LimitRequest;
      try {
        admission = await this.#admit(req, route, signal, promptTokens);
      } catch (error) {
        // Cut by the shutdown while it waited for a rate limit: kept for a replay, like a cut call.
        if (this.#shuttingDown) throw await this.#delivery.keepCut(req, 'The optimizer shut down while the request waited for a rate limit');
        throw error;
      }
      const tally = bus.wants('request.completed') ? (usage = new AnswerUsage()) : undefined;
      await this.#delivery.deliver(
        req,
        route,
        meta,
        sink,
        signal,
        (target, m, out, sig) => this.#callUpstream(req, target, m, out, sig, tally),
        {
          unsupported: (target) => this.#adapter(target.backendId).unsupported({ endpoint: req.endpoint, body: req.body, model: target.model, stream: req.stream }, target.backendId),
          admission,
        },
      );
      await settled;
    } catch (error) {
      const failure = signal?.aborted || req.signal.aborted ? new OptimizerError('CANCELLED', 'The request was cancelled.') : toOptimizerError(error);
      outcome = failure.code;
      status = failure.status;
      if (failure.code === 'INTERNAL') this.deps.logger.error({ err: failure.cause, requestId: req.requestId }, 'request failed inside the optimizer');
      if (!sink.closed) sink.error(failure);
    } finally {
      if (counted) this.#load.finished(session, req.agentId);
      if (bus.wants('request.completed')) {
        const latencyMs = performance.now() - startedAt;
        bus.publish('request.completed', completedEventFields(req, meta, { outcome, status, latencyMs, usage, savedAnswer, promptTokens }));
      }
      if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
        for (const wake of this.#idleWaiters.splice(0)) wake();
      }
    }
  }

  /** The cache's answer to `key` if it was stored within the dedupe window (for a request that may not read the cache). */
  #recentInCache(key: string): CompletedAnswer | undefined {
    const entry = this.#cache.get(key);
    return entry && entry.createdAt > this.#now() - this.deps.config.dedupe.windowMs ? ResponseCache.toAnswer(entry) : undefined;
  }

  /** The router's plan; with no backend at all usable, "no backend" is answered as NO_BACKEND_REACHABLE (what to set). */
  #route(req: GatewayRequest) {
    try {
      const model = req.body.model as string | undefined;
      // Only `auto` reads the request (task routing): other models route on the name alone.
      return resolveVia(
        this.deps.system,
        isAutoModel(model)
          ? { model, pinnedBackend: req.hints.backend, request: { endpoint: req.endpoint, body: req.body, taskHint: req.hints.taskType, agentType: req.agentType } }
          : { model, pinnedBackend: req.hints.backend },
      );
    } catch (error) {
      const { availability } = this.deps;
      if (availability?.anyUsable === false && (error as OptimizerError).code === 'NO_BACKENDS') throw availability.nothingReachableError();
      throw error;
    }
  }

  /**
   * Waits for the rate limits (global, the agent's, one backend's: src/gateway/backend-limits.ts); throws
   * RATE_LIMITED past the deadline. Returns what was admitted, for the failovers' own backend limits.
   */
  async #admit(req: GatewayRequest, route: RoutePlan, signal: Cancellation, promptTokens: number | undefined): Promise<LimitRequest> {
    const { limiter } = this.deps;
    const maxTokens = (req.body.max_completion_tokens ?? req.body.max_tokens) as number | undefined;
    const backendId = admissionBackend(limiter, route, this.#skippedAtOnce);
    const request = {
      agentId: req.agentId,
      backendId,
      model: backendId === route.target.backendId ? route.target.name : route.candidates.find((c) => c.backendId === backendId)!.name,
      tokens: this.#countTokens ? (promptTokens ?? estimateTokens(req.body)) + (typeof maxTokens === 'number' ? maxTokens : 0) : 0,
      priority: req.hints.priority ?? 0,
      signal,
    };
    if (limiter.tryAdmit(request)) return request;
    await limiter.admit(request);
    return request;
  }

  readonly #skippedAtOnce = (backendId: string): boolean => skippedAtOnce(this.deps.system, this.deps.availability, backendId);

  /** Subscribes a client to a flight; resolves when its answer is complete or it went away. */
  #follow(flight: Flight, res: Responder, req: GatewayRequest, role: 'leader' | 'joined', includeUsage: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      // A client that cancels or goes away leaves the flight; the upstream call goes on for the others.
      const cancel = () => {
        leave();
        if (!res.closed) res.error(new OptimizerError('CANCELLED', 'The request was cancelled.'));
      };
      // Once this client's answer is complete, its signal lets go of the listener (and with it of the
      // flight and the response): a WebSocket session keeps its requests' signals in a Map that
      // outlives them (see dedupe/registry.ts on what such a Map keeps alive).
      const settled = () => {
        req.signal.removeEventListener('abort', cancel);
        resolve();
      };
      const leave = flight.subscribe({ responder: res, requestId: req.requestId, role, stream: req.stream, includeUsage, onSettled: settled });
      if (req.signal.aborted) cancel();
      else req.signal.addEventListener('abort', cancel, { once: true });
    });
  }

  /**
   * Calls one backend and relays its answer into `sink`. Throws what fails before the
   * client saw anything (so it may be retried); resolves with the failure of a stream that
   * broke after it started (already reported to the client in-stream).
   */
  async #callUpstream(
    req: GatewayRequest,
    target: RouteTarget,
    meta: ResponseMeta,
    sink: Responder,
    signal: Cancellation,
    usage: AnswerUsage | undefined,
  ): Promise<OptimizerError | undefined> {
    const adapter = this.#adapter(target.backendId);
    const request: AdapterRequest = { endpoint: req.endpoint, body: req.body, model: target.model, stream: req.stream };
    const call = adapter.prepare(request);
    const upstream = await callBackend(this.deps.system, target.backendId, { method: call.method, path: call.path, body: call.body, signal, stream: req.stream });
    // Many answers landing at once (a burst's upstream calls) are relayed in turns, too.
    const turn = this.#turns.turn(this.#inFlight > 1);
    if (turn) await turn;
    if (upstream.status >= 400) {
      const text = await readText(upstream.body, MAX_ERROR_BODY_BYTES);
      throw adapter.error(upstream.status, upstream.headers, text, upstream.backendId);
    }
    if (!adapter.translates) {
      // The OpenAI-compatible pass-through: the upstream's bytes as they came.
      if (req.stream) return relayStream(upstream, sink, meta, signal, undefined, undefined, usage);
      await relayJson(upstream, sink, meta, undefined, usage);
      return undefined;
    }
    const context = { request, backendId: target.backendId, now: this.#now() };
    if (req.stream) return relayStream(upstream, sink, meta, signal, adapter.stream(context), adapter.framing, usage);
    await relayJson(upstream, sink, meta, (value) => adapter.answer(value, context), usage);
    return undefined;
  }

  /** The adapter speaking to a backend (for calls outside the request path, e.g. listing its models). */
  adapterOf(backendId: string): ProviderAdapter {
    return this.#adapter(backendId);
  }

  /** The backend's adapter (a backend unknown to the config and to discovery, e.g. in tests, speaks OpenAI). */
  #adapter(backendId: string): ProviderAdapter {
    let adapter = this.#adapters.get(backendId);
    if (adapter === undefined) {
      // A backend discovery found after start speaks its provider's dialect (vLLM's reasoning field, ...).
      const provider = this.deps.backends?.().find((b) => b.id === backendId)?.provider;
      adapter = adapterFor(provider ?? 'openai-compatible');
      this.#adapters.set(backendId, adapter);
    }
    return adapter;
  }
}
