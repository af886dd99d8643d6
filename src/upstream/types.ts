import type { BackendConfig } from '../config/types.js';
import type { OptimizerError } from '../errors/registry.js';
import type { Secret } from '../config/secret.js';
import type { QuotaTracker } from '../resilience/quota.js';
import type { BreakerEmitted } from '../../machines/breaker.machine.js';
import type { Cancellation } from '../gateway/cancel-signal.js';
import type { UpstreamBody } from './body.js';

/** One HTTP call to a backend, as handed to its backend actor. */
export interface UpstreamCall {
  method: 'GET' | 'POST';
  /** Path below the backend's base URL, e.g. `/chat/completions`. */
  path: string;
  /** JSON text, already adapted for the provider. */
  body?: string;
  /** Aborts the call when the client cancels or disconnects. */
  signal?: Cancellation;
  /** Whether the answer is an SSE stream (affects only bookkeeping and timeouts). */
  stream: boolean;
  resolve(response: UpstreamResponse): void;
  reject(error: OptimizerError): void;
}

/** The backend's answer: status and headers are in, the body is still arriving. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as it arrives (read it, discard it or destroy it: src/upstream/body.ts); fails with undici's error if the call breaks midway. */
  body: UpstreamBody;
  /** Id of the backend that answered. */
  backendId: string;
}

/** Input of a backend actor and of its transport. */
export interface BackendInput {
  backend: BackendConfig;
  /** Resolved from `backend.apiKeyEnv`; serialises as `[redacted]`. */
  apiKey: Secret | undefined;
  /** Set when the backend cannot be used (e.g. its key's env var is unset): calls fail fast with this reason. */
  disabledReason?: string;
  /** What the backend's rate-limit headers say (kept across restarts of the actor: it is the upstream's state). */
  quota?: QuotaTracker;
  /** Told about the breaker's transitions (the owner publishes them). */
  onBreakerEvent?: (event: BreakerEmitted) => void;
}

/**
 * What a transport reports to its backend actor: its counters, at most every
 * STATS_INTERVAL_MS while they change (one event per call would cost more than the call's
 * bookkeeping is worth on the hot path).
 */
export interface BackendStats {
  type: 'backend.stats';
  inFlight: number;
  /** Calls waiting for a slot (only a backend with `maxConcurrency` has any). */
  queued?: number;
  succeeded: number;
  failed: number;
  /** Exponentially weighted moving average of call latency (headers to end of body), ms. */
  latencyEwmaMs: number | undefined;
  lastErrorCode: string | undefined;
}
