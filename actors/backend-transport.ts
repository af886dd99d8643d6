import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { Pool } from '../src/upstream/undici.js';
import { UpstreamBody } from '../src/upstream/body.js';
import { fromCallback } from 'xstate';
import { OptimizerError } from '../src/errors/registry.js';
import { authHeaders } from '../src/providers/presets.js';
import { upstreamFailure } from '../src/upstream/errors.js';
import { parseRateLimitHeaders } from '../src/resilience/quota.js';
import type { BackendInput, BackendStats, UpstreamCall } from '../src/upstream/types.js';
import type { QuotaTracker } from '../src/resilience/quota.js';
import type { Cancellation } from '../src/gateway/cancel-signal.js';
import type { OptimizerSystem } from './system.js';
import { DEFAULT_MAX_QUEUED } from '../src/config/defaults.js';
import { ConcurrencyGate, type GateRefusal } from '../src/upstream/concurrency-gate.js';

/** How often a transport's counters are reported to its backend actor while they change. */
export const STATS_INTERVAL_MS = 200;
const EWMA_ALPHA = 0.2;


type CallHandler = (call: UpstreamCall) => void;

/** Per actor system: each running transport's call handler, by backend id. */
const handlers = new WeakMap<OptimizerSystem, Map<string, CallHandler>>();

/**
 * The running transport of `backendId` in `system`, as a function taking a call: the request
 * path's way in, without an XState message per call (the mailbox, the relay and the transition:
 * ≈ 3–4% of the pass-through's CPU profile, though an A/B could not tell the change from the
 * VM's noise). The actor still owns the transport: the handler exists
 * exactly while the transport child runs, so a crashed or restarting backend has none.
 */
export function transportOf(system: OptimizerSystem, backendId: string): CallHandler | undefined {
  return handlers.get(system)?.get(backendId);
}

/**
 * The I/O half of a backend actor: an undici pool of keep-alive connections to one
 * backend. It lives exactly as long as its backend actor; when that actor stops or
 * crashes, the pool is destroyed and every call still in flight fails with
 * BACKEND_UNAVAILABLE, so callers can try elsewhere instead of waiting forever.
 */
export const backendTransport = fromCallback<{ type: 'backend.call'; call: UpstreamCall }, BackendInput>(
  ({ input, receive, sendBack, system }) => {
    const { backend } = input;
    const base = new URL(backend.baseUrl);
    const basePath = base.pathname.replace(/\/+$/, '');
    const pool = new Pool(base.origin, {
      connections: backend.connections,
      connect: { timeout: backend.timeouts.connectMs },
      headersTimeout: backend.timeouts.headersMs,
      bodyTimeout: backend.timeouts.bodyIdleMs,
      keepAliveTimeout: 30_000,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...backend.headers,
      ...authHeaders(backend.provider, input.apiKey?.reveal()),
    };
    let closed = false;
    const stats: BackendStats = { type: 'backend.stats', inFlight: 0, queued: 0, succeeded: 0, failed: 0, latencyEwmaMs: undefined, lastErrorCode: undefined };
    let dirty = false;
    const reporter = setInterval(() => {
      if (!dirty || closed) return;
      dirty = false;
      sendBack({ ...stats });
    }, STATS_INTERVAL_MS);
    reporter.unref();

    const settle: Settle = (started, ok, status, errorCode) => {
      stats.inFlight--;
      if (ok) stats.succeeded++;
      else {
        stats.failed++;
        stats.lastErrorCode = errorCode ?? `HTTP_${status}`;
      }
      const latency = performance.now() - started;
      stats.latencyEwmaMs = stats.latencyEwmaMs === undefined ? latency : stats.latencyEwmaMs + EWMA_ALPHA * (latency - stats.latencyEwmaMs);
      dirty = true;
    };

    // `maxConcurrency`: calls past it wait here, in order, instead of piling onto the server.
    const gate = backend.maxConcurrency === undefined ? undefined : new ConcurrencyGate(backend.maxConcurrency, backend.maxQueued ?? DEFAULT_MAX_QUEUED);
    const refused = (call: UpstreamCall, why: GateRefusal) => {
      stats.queued = gate?.queued ?? 0;
      dirty = true;
      call.reject(gateFailure(why, backend.id));
    };

    const onCall: CallHandler = (call) => {
      if (closed) {
        call.reject(new OptimizerError('BACKEND_UNAVAILABLE', `Backend ${backend.id} is restarting.`, { details: { backend: backend.id } }));
        return;
      }
      if (gate === undefined) {
        dispatch(call, undefined);
        return;
      }
      gate.enter(call.signal, () => dispatch(call, gate), (why) => refused(call, why));
      stats.queued = gate.queued;
      dirty = true;
    };
    receive((event) => onCall(event.call));
    let registry = handlers.get(system as OptimizerSystem);
    if (!registry) handlers.set(system as OptimizerSystem, (registry = new Map()));
    registry.set(backend.id, onCall);

    /** Sends one call; with a gate, its slot is released when the answer's body ends (or the call fails). */
    function dispatch(call: UpstreamCall, slot: ConcurrencyGate | undefined): void {
      let release: (() => void) | undefined;
      if (slot) {
        stats.queued = slot.queued;
        let held = true;
        release = () => {
          if (!held) return;
          held = false;
          slot.release();
          stats.queued = slot.queued;
          dirty = true;
        };
      }
      stats.inFlight++;
      dirty = true;
      const handler = new UpstreamCallHandler(call, backend.id, input.quota, settle, release);
      // Cancelled before it was sent: it fails at once and is never sent.
      if (call.signal?.aborted) handler.handleEvent();
      else pool.dispatch({ method: call.method, path: basePath + call.path, headers, body: call.body ?? null }, handler);
    }

    return () => {
      closed = true;
      if (registry.get(backend.id) === onCall) registry.delete(backend.id);
      gate?.close();
      clearInterval(reporter);
      void pool
        .destroy(new OptimizerError('BACKEND_UNAVAILABLE', `Backend ${backend.id} is restarting.`, { details: { backend: backend.id } }))
        .catch(() => undefined);
    };
  },
);

/** The error of a call that got no slot: it fails over (full, closed) or ends as its signal says (cancelled, deadline). */
function gateFailure(why: GateRefusal, backendId: string): OptimizerError {
  switch (why.kind) {
    case 'aborted':
      return upstreamFailure(why.reason ?? new DOMException('The call was aborted.', 'AbortError'), backendId);
    case 'full':
      return new OptimizerError(
        'BACKEND_UNAVAILABLE',
        `Backend ${backendId} is at its concurrency limit (${why.limit} calls) with ${why.maxQueued} more waiting.`,
        { details: { backend: backendId, queueFull: true } },
      );
    case 'closed':
      return new OptimizerError('BACKEND_UNAVAILABLE', `Backend ${backendId} is restarting.`, { details: { backend: backendId } });
  }
}

/** Counts a finished call in the transport's stats. */
type Settle = (started: number, ok: boolean, status: number, errorCode?: string) => void;

/**
 * One call on undici's `dispatch` API: resolves the call with the response head and an UpstreamBody
 * the chunks go into (src/upstream/body.ts), or rejects it with what failed before the head. The
 * call's signal aborts it, queued or under way; the abort listener goes when the call is over (a
 * WebSocket session keeps its requests' signals: see dedupe/registry.ts on what a listener keeps).
 */
class UpstreamCallHandler implements Dispatcher.DispatchHandler {
  readonly #started = performance.now();
  #controller: Dispatcher.DispatchController | undefined;
  #body: UpstreamBody | undefined;
  #status = 0;
  #over = false;

  constructor(
    private readonly call: UpstreamCall,
    private readonly backendId: string,
    private readonly quota: QuotaTracker | undefined,
    private readonly settle: Settle,
    private readonly release: (() => void) | undefined,
  ) {
    if (call.signal?.aborted === false) call.signal.addEventListener('abort', this);
  }

  /**
   * The call's signal aborted. Under way, the call is aborted (undici reports it through
   * onResponseError). Still queued for a connection, it fails now, and undici drops it when its turn
   * comes (onRequestStart) instead of keeping its caller waiting until then.
   */
  handleEvent(): void {
    const reason = abortReason(this.call.signal!);
    if (this.#controller) this.#controller.abort(reason);
    else this.onResponseError(undefined, reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Over before it started: cancelled while it was queued (handleEvent).
    if (this.#over) controller.abort(abortReason(this.call.signal!));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode;
    // Remember what the backend says of its quota, to steer away before it answers 429.
    this.quota?.observe(parseRateLimitHeaders(headers, Date.now()));
    const body = (this.#body = new UpstreamBody(controller));
    this.call.resolve({ status: statusCode, headers, body, backendId: this.backendId });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#body?.push(chunk);
  }

  onResponseEnd(): void {
    if (!this.#finish()) return;
    this.settle(this.#started, this.#status < 400, this.#status);
    this.#body?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (!this.#finish()) return;
    const failure = upstreamFailure(error, this.backendId);
    this.settle(this.#started, false, this.#status, failure.code);
    if (this.#body) this.#body.fail(error);
    else this.call.reject(failure);
  }

  /** Once per call: lets go of the signal and of the gate's slot. False when it was over already. */
  #finish(): boolean {
    if (this.#over) return false;
    this.#over = true;
    this.call.signal?.removeEventListener('abort', this);
    this.release?.();
    return true;
  }
}

/** What a call is aborted with: the signal's reason when it is an Error, else an AbortError. */
function abortReason(signal: Cancellation): Error {
  const reason = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The request was cancelled.', 'AbortError');
}
