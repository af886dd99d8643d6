/** The limiter's public types: what a caller passes in and what it reads back. */
import type { OptimizerError } from '../errors/registry.js';
import type { Clock } from './clock.js';
import type { Cancellation } from '../gateway/cancel-signal.js';

/** A limit over sliding 60 s windows; an absent field is not limited. */
export interface RateLimit {
  readonly requestsPerMinute?: number | undefined;
  readonly tokensPerMinute?: number | undefined;
}

/** One request asking to pass the limits. The limiter never keeps it after it is settled. */
export interface LimitRequest {
  /** Keys `agent:<agentId>`, limited by the agent's own limits or else by `perAgent`. */
  readonly agentId: string;
  /** Adds the key `backend:<backendId>` when that backend has limits. */
  readonly backendId?: string | undefined;
  /** The route's `backend/model`: for telemetry only (the limiter ignores it). */
  readonly model?: string | undefined;
  /** Estimated tokens (prompt + completion), an integer ≥ 0; counted against tokens-per-minute limits. Default 0. */
  readonly tokens?: number | undefined;
  /** Higher is served first (see the fairness rule in limiter.ts). Default 0. */
  readonly priority?: number | undefined;
  /**
   * Latest time, on the limiter's clock (`limiter.now()`), at which the request may be admitted.
   * The effective deadline is the earlier of this and arrival + `maxQueueWaitMs`.
   */
  readonly deadline?: number | undefined;
  /** Aborting it takes a queued request out of the queue (its promise rejects). */
  readonly signal?: Cancellation | undefined;
}

/**
 * Synchronous notifications, e.g. for metrics and events. They run inside the limiter: they must
 * not call `admit` or `tryAdmit` (read-only calls such as `queueDepth` and `stats` are fine).
 */
export interface LimiterObserver {
  /** The request was admitted at `now` after waiting `waitedMs` (0 on the fast path). */
  admitted?(request: LimitRequest, now: number, waitedMs: number): void;
  /** The request could not be admitted at once and now waits in its agent's queue. */
  queued?(request: LimitRequest, now: number): void;
  /** The request was refused: RATE_LIMITED, INVALID_REQUEST (can never fit), CANCELLED (aborted) or SHUTTING_DOWN. */
  rejected?(request: LimitRequest, now: number, error: OptimizerError): void;
}

export interface LimiterOptions {
  clock: Clock;
  /** The fleet-wide limit (key `global`); absent = none. */
  global?: RateLimit | undefined;
  /** Default limit of an agent that has no limits of its own (field by field). */
  perAgent?: RateLimit | undefined;
  /** Agents' own limits; a field they leave out falls back to `perAgent`'s. */
  agents?: ReadonlyMap<string, RateLimit> | undefined;
  /** Backends' own quotas; a backend not listed (or with neither field) is not limited here. */
  backends?: ReadonlyMap<string, RateLimit> | undefined;
  /** Longest wait in the queue, in ms; 0 = never queue (refuse at once what does not fit now). */
  maxQueueWaitMs: number;
  observer?: LimiterObserver | undefined;
}

export interface LimiterStats {
  /** Requests admitted since the start (fast path and from the queue). */
  admitted: number;
  /** Requests that had to wait in a queue (whatever became of them). */
  queued: number;
  /** Requests refused: RATE_LIMITED, never-fits and SHUTTING_DOWN (cancellations are counted apart). */
  rejected: number;
  /** Requests whose signal aborted before they were admitted. */
  cancelled: number;
  /** Requests waiting now. */
  queueDepth: number;
  /** Requests waiting now, by agent (agents with none are left out). */
  queueDepthByAgent: Record<string, number>;
  /** Agents whose next request waits for the agent's own limit. */
  agentsAtOwnLimit: number;
  /** Failovers that took a slot on a limited backend's key (`tryAdmitBackend`; not in `admitted`). */
  failoverAdmitted: number;
  /** Failovers refused by a limited backend's key: the candidate was skipped. */
  failoverRefused: number;
  /** When the limiter's one timer fires next (clock time), or null when none is set. */
  nextWakeAt: number | null;
}

/** How full one key is now, e.g. for the router's "remaining quota". */
export interface KeyUsage {
  key: string;
  requests: number;
  requestsPerMinute: number | undefined;
  tokens: number;
  tokensPerMinute: number | undefined;
}
