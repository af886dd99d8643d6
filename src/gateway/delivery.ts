import { breakerOf } from '../../actors/backend.js';
import type { OptimizerSystem } from '../../actors/system.js';
import type { OptimizerConfig } from '../config/types.js';
import { deadLetterAnswer } from '../dlq/answer.js';
import type { DeadLetters } from '../dlq/dead-letters.js';
import type { DeadLetterAttempt } from '../dlq/types.js';
import { OptimizerError, toOptimizerError } from '../errors/registry.js';
import { breakerAdmits, classifyFailure, type BreakerTicket } from '../resilience/breaker-client.js';
import { OutcomeBatch } from '../resilience/outcome-batch.js';
import type { QuotaTracker } from '../resilience/quota.js';
import { quotaScore } from '../resilience/quota.js';
import type { RandomSource } from '../resilience/random.js';
import { planRetry, retryDecision, retryHintFor } from '../resilience/retry.js';
import type { RoutePlan, RouteTarget } from '../routing/table.js';
import type { EventBus } from '../telemetry/event-bus.js';
import type { GatewayRequest, Responder, ResponseMeta } from './types.js';
import type { Availability } from '../discovery/availability.js';
import type { Limiter, LimitRequest } from '../limits/limiter.js';
import { backendLimitSkip } from './backend-limits.js';
import { CancelSignal, type Cancellation } from './cancel-signal.js';

/** One call to one backend; resolves with the in-stream failure when a started stream broke. */
export type CallOnce = (target: RouteTarget, meta: ResponseMeta, sink: Responder, signal: Cancellation) => Promise<OptimizerError | undefined>;

/** Why a candidate cannot serve the request at all (CAPABILITY_UNSUPPORTED), or undefined; asked before its breaker. */
export type Unsupported = (target: RouteTarget) => OptimizerError | undefined;

export interface DeliveryDeps {
  system: OptimizerSystem;
  config: OptimizerConfig;
  bus: EventBus;
  deadLetters: DeadLetters;
  quotas: ReadonlyMap<string, QuotaTracker>;
  /** Backends a health probe says are down are skipped like an open breaker (src/discovery/). */
  availability?: Availability | undefined;
  random: RandomSource;
  now: () => number;
  /** True once the shutdown grace ran out: a request cut then is dead-lettered. */
  shuttingDown?: () => boolean;
  /** The rate limiter, for the own limits of backends a request fails over to (src/gateway/backend-limits.ts). */
  limiter?: Limiter | undefined;
}

/** The optional parts of one delivery. */
export interface DeliveryOptions {
  /** Why a candidate cannot serve the request at all, asked before its breaker. */
  unsupported?: Unsupported | undefined;
  /**
   * What the limiter admitted the request as (its `backendId` is the backend whose own limit it
   * queued for). Any other limited backend called takes one slot of its own, now or never.
   */
  admission?: LimitRequest | undefined;
}

/** Shared by every call made without a breaker to ask (none configured, or the actor restarting). */
const NO_BREAKER: BreakerTicket = Object.freeze({ probe: undefined });

/**
 * Delivers a request to the first backend that answers: tries the route's candidates in
 * order (the chosen backend, the same model elsewhere, the configured fallbacks), asking
 * each one's circuit breaker first and putting backends that are cooling down after a
 * 429 (or nearly out of quota) last. A retryable failure is retried on the same backend
 * after a full-jitter backoff that honours `retry-after`, or fails over to the next
 * candidate at once; nothing is retried once a stream has reached the client, and no
 * retry starts after the request's deadline. When every candidate failed, the request
 * goes to the dead-letter queue and the caller gets ALL_BACKENDS_FAILED naming its id.
 */
export class Delivery {
  /** Breakers hear of successes in batches, of everything else at once (src/resilience/outcome-batch.ts). */
  readonly #outcomes = new OutcomeBatch();

  constructor(private readonly deps: DeliveryDeps) {}

  /** Delivers the request; its deadline (`resilience.requestTimeoutMs`) bounds every call and backoff. */
  deliver(req: GatewayRequest, plan: RoutePlan, meta: ResponseMeta, sink: Responder, signal: Cancellation, call: CallOnce, options: DeliveryOptions = {}): Promise<void> {
    const deadline = this.deps.now() + this.deps.config.resilience.requestTimeoutMs;
    // Handed to #deliver, which disposes of it: one async frame per request in flight, not two.
    const bounded = new DeadlineSignal(signal, this.deps.config.resilience.requestTimeoutMs);
    return this.#deliver(req, plan, meta, sink, signal, bounded, deadline, call, options);
  }

  async #deliver(
    req: GatewayRequest,
    plan: RoutePlan,
    meta: ResponseMeta,
    sink: Responder,
    signal: Cancellation,
    bounded: DeadlineSignal,
    deadline: number,
    call: CallOnce,
    { unsupported, admission }: DeliveryOptions,
  ): Promise<void> {
    const callSignal = bounded.signal;
    try {
      const { config, bus, now, limiter } = this.deps;
      const settings = config.resilience.retry;
      const candidates = this.#order(plan.candidates);
      const attempts: DeadLetterAttempt[] = [];
      let index = 0;
      let made = 0;
      let last: OptimizerError | undefined;
      /** Limited backends other than the admission's that this request already holds a slot on (failover only). */
      let slots: string[] | undefined;

      while (index < candidates.length) {
        const target = candidates[index]!;
        // A backend that cannot do this at all is skipped before its breaker and any upstream call;
        // it spends no attempt.
        const missing = unsupported?.(target);
        if (missing) {
          attempts.push(attempt(target, now(), missing));
          last ??= missing;
          if (index + 1 < candidates.length) {
            bus.publish('backend.failover', { requestId: req.requestId, agentId: req.agentId, from: target.backendId, to: candidates[index + 1]!.backendId, code: missing.code });
          }
          index++;
          continue;
        }
        const down = this.deps.availability?.unusableReason(target.backendId);
        if (down !== undefined) {
          attempts.push(attempt(target, now(), new OptimizerError('BACKEND_UNAVAILABLE', `Skipped: ${down}.`)));
          index++;
          continue;
        }
        const breaker = breakerOf(this.deps.system, target.backendId);
        const ticket = breaker ? breakerAdmits(breaker) : NO_BREAKER;
        if (!ticket) {
          attempts.push(attempt(target, now(), new OptimizerError('BACKEND_UNAVAILABLE', `The circuit breaker of backend ${target.backendId} is open.`)));
          index++;
          continue;
        }
        // Its own rate limit, when it is not the backend the request was admitted for: one slot, now or
        // never (Limiter.tryAdmitBackend). A retry on the same backend takes none: one slot per backend
        // per request. Asked after the breaker, so an open breaker takes no slot; a half-open probe slot
        // is handed back unused.
        if (limiter !== undefined && admission !== undefined && target.backendId !== admission.backendId && !(slots?.includes(target.backendId) ?? false)) {
          if (!limiter.tryAdmitBackend(target.backendId, admission)) {
            if (breaker && ticket.probe !== undefined) this.#outcomes.report(breaker, ticket, { ok: false, counted: false, at: now() });
            attempts.push(attempt(target, now(), backendLimitSkip(limiter, target.backendId)));
            index++;
            continue;
          }
          (slots ??= []).push(target.backendId);
        }
        made++;
        meta.backend = target.backendId;
        meta.model = target.name;
        if (target !== plan.target) meta.routeReason = 'failover';
        try {
          const broke = await call(target, meta, sink, callSignal);
          if (breaker) this.#outcomes.report(breaker, ticket, { ok: broke === undefined, counted: broke === undefined || classifyFailure(broke).counted, at: now() });
          if (broke) {
            bus.publish('backend.failed', { backend: target.backendId, requestId: req.requestId, agentId: req.agentId, model: target.name, code: broke.code, streamStarted: true });
          }
          else if (bus.wants('backend.succeeded')) bus.publish('backend.succeeded', { backend: target.backendId, requestId: req.requestId, agentId: req.agentId, attempt: made });
          return;
        } catch (thrown) {
          const error = toOptimizerError(thrown);
          if (signal.aborted || error.code === 'CANCELLED') {
            if (breaker) this.#outcomes.report(breaker, ticket, { ok: false, counted: false, at: now() });
            if (this.deps.shuttingDown?.()) {
              // Cut by the shutdown, not by its client: keep it for a replay.
              attempts.push(attempt(target, now(), new OptimizerError('SHUTTING_DOWN', 'The optimizer shut down while the call was in flight.')));
              throw await this.#deadLetter(req, attempts, undefined, 'The optimizer shut down before the request was answered');
            }
            throw error;
          }
          const at = now();
          if (breaker) this.#outcomes.report(breaker, ticket, { ok: false, counted: classifyFailure(error).counted, at });
          const quota = this.deps.quotas.get(target.backendId);
          if (error.code === 'UPSTREAM_RATE_LIMITED' && quota) {
            const retryAfterMs = retryHintFor(error, at).retryAfterMs;
            quota.onRateLimited(at, retryAfterMs === undefined ? {} : { retryAfterMs });
          }
          attempts.push(attempt(target, at, error));
          bus.publish('backend.failed', { backend: target.backendId, requestId: req.requestId, agentId: req.agentId, model: target.name, code: error.code, status: error.status });
          const decision = retryDecision(error, { streamStarted: false });
          if (!decision.retrySame && !decision.failOver) throw error; // the caller's own fault: every backend would say the same
          last = error;
          const next = index + 1 < candidates.length;
          const mode = decision.failOver && next ? 'failOver' : decision.retrySame ? 'retrySame' : undefined;
          if (!mode) break;
          const hint = retryHintFor(error, at, quota?.state(at) ?? {});
          const retry = planRetry({ attempt: made, settings, random: this.deps.random, hint, deadline, now: at, mode });
          if ('giveUp' in retry) break;
          if (mode === 'failOver') {
            const to = candidates[index + 1]!;
            bus.publish('backend.failover', { requestId: req.requestId, agentId: req.agentId, model: target.name, from: target.backendId, to: to.backendId, toModel: to.name, code: error.code });
            index++;
          }
          if (retry.delayMs > 0) await sleep(retry.delayMs, signal);
        }
      }
      // Only disabled backends (a key not set): a configuration problem, answered as such — there is
      // nothing to keep for a replay until the operator sets the key.
      if (last?.code === 'BACKEND_DISABLED' && attempts.every((a) => a.code === 'BACKEND_DISABLED')) throw last;
      // No candidate can do it at all: the caller's request, not a failure worth keeping for a replay.
      if (attempts.length > 0 && attempts.every((a) => a.code === 'CAPABILITY_UNSUPPORTED')) throw noCandidateCan(attempts, last);
      throw await this.#deadLetter(req, attempts, last);
    } finally {
      bounded.dispose();
    }
  }

  /**
   * Keeps a request the shutdown cut before it reached any backend (it was waiting for a
   * rate limit) and returns the caller's error naming the dead letter.
   */
  keepCut(req: GatewayRequest, why: string): Promise<OptimizerError> {
    return this.#deadLetter(req, [], undefined, why);
  }

  /** Candidates in order, those cooling down or nearly out of quota moved to the end (stably). */
  #order(candidates: readonly RouteTarget[]): RouteTarget[] {
    if (candidates.length < 2) return [...candidates];
    const wall = this.deps.now();
    const healthy: RouteTarget[] = [];
    const strained: RouteTarget[] = [];
    for (const target of candidates) {
      const quota = this.deps.quotas.get(target.backendId);
      if (quota && quotaScore(quota.state(wall), wall) <= 0.05) strained.push(target);
      else healthy.push(target);
    }
    return [...healthy, ...strained];
  }

  /** Keeps the request in the dead-letter queue and builds the caller's error naming it. */
  async #deadLetter(req: GatewayRequest, attempts: DeadLetterAttempt[], last: OptimizerError | undefined, why?: string): Promise<OptimizerError> {
    const reason = why ?? (attempts.length === 0 ? 'No backend could take the request' : 'Every candidate backend failed');
    if (req.replayOf !== undefined) {
      // A replay that fails again stays the same dead letter; it is not stored twice.
      return new OptimizerError('ALL_BACKENDS_FAILED', `${reason}; dead letter ${req.replayOf} is kept.`, {
        status: last ? 502 : 503,
        details: { dlqId: req.replayOf },
      });
    }
    try {
      const entry = await this.deps.deadLetters.add({
        agentId: req.agentId,
        tenant: req.tenant,
        endpoint: req.endpoint,
        body: req.body,
        hints: req.hints,
        stream: req.stream,
        reason,
        attempts,
      });
      this.deps.bus.publish('dlq.enqueued', { id: entry.id, requestId: req.requestId, agentId: req.agentId, attempts: attempts.length });
      const answer = deadLetterAnswer(entry);
      // Rate limited everywhere: 503 with the backend's retry-after, which agents honour.
      if (last?.code === 'UPSTREAM_RATE_LIMITED') {
        return new OptimizerError('ALL_BACKENDS_FAILED', answer.message, {
          status: 503,
          details: { dlqId: entry.id },
          ...(last.retryAfterMs === undefined ? {} : { retryAfterMs: last.retryAfterMs }),
        });
      }
      return new OptimizerError('ALL_BACKENDS_FAILED', answer.message, { status: answer.status, details: { dlqId: entry.id } });
    } catch (error) {
      const cause = toOptimizerError(error);
      return new OptimizerError('ALL_BACKENDS_FAILED', `${reason}, and the dead-letter queue could not keep the request: ${cause.message}`, {
        status: 503,
        cause: error,
      });
    }
  }
}

/** The answer when every candidate lacked a capability: the capability named, every backend listed. */
function noCandidateCan(attempts: DeadLetterAttempt[], first: OptimizerError | undefined): OptimizerError {
  if (attempts.length === 1 && first) return first;
  const capability = typeof first?.details?.capability === 'string' ? first.details.capability : 'what the request needs';
  const backends = attempts.map((a) => a.backend).join(', ');
  return new OptimizerError('CAPABILITY_UNSUPPORTED', `No candidate backend supports ${capability} (tried ${backends}).`, {
    ...(first?.param === undefined ? {} : { param: first.param }),
    details: { capability, backends: attempts.map((a) => a.backend) },
  });
}

function attempt(target: RouteTarget, at: number, error: OptimizerError): DeadLetterAttempt {
  return { backend: target.backendId, model: target.name, at, code: error.code, status: error.status, message: error.message };
}

/** Waits `ms`, or rejects with CANCELLED when the request is aborted meanwhile. */
function sleep(ms: number, signal: Cancellation): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new OptimizerError('CANCELLED', 'The request was cancelled.'));
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new OptimizerError('CANCELLED', 'The request was cancelled.'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The request's signal, also aborted at its deadline (with a TimeoutError, mapped to
 * UPSTREAM_TIMEOUT): a CancelSignal listening to its source, and one timer per request. No
 * AbortController (src/gateway/cancel-signal.ts); cheaper still than `AbortSignal.any` +
 * `AbortSignal.timeout` per call, which showed in profiles before.
 */
class DeadlineSignal {
  readonly signal = new CancelSignal();
  readonly #timer: NodeJS.Timeout;
  readonly #onAbort: () => void;

  constructor(
    private readonly source: Cancellation,
    timeoutMs: number,
  ) {
    this.#onAbort = () => this.signal.abort(source.reason);
    if (source.aborted) this.signal.abort(source.reason);
    else source.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer = setTimeout(() => this.signal.abort(new DOMException('The request reached its deadline.', 'TimeoutError')), timeoutMs);
    this.#timer.unref();
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.source.removeEventListener('abort', this.#onAbort);
  }
}
