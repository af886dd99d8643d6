/**
 * The validated, frozen shape of `supervisor.config.json` after defaults are applied.
 * The JSON Schema (`supervisor.config.schema.json`) is the contract for the file; these
 * types are the contract for the code. `test/config/schema.test.ts` keeps them in step.
 */

/** OTP restart strategies. */
export type SupervisorStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
/** OTP child restart policies. */
export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

/** Provider presets known to the optimizer (base URL and auth style per provider). */
export type ProviderName =
  | 'openai'
  | 'cerebras'
  | 'groq'
  | 'together'
  | 'xai'
  | 'deepseek'
  | 'moonshot'
  | 'openrouter'
  | 'mistral'
  | 'fireworks'
  | 'vllm'
  | 'ollama'
  | 'lmstudio'
  | 'openai-compatible';

export interface SupervisorFlags {
  strategy: SupervisorStrategy;
  /** Restarts allowed within `periodMs` before the supervisor gives up and fails upward. */
  intensity: number;
  periodMs: number;
}

/** Ids of the root's children, in start order (DESIGN.md §3). */
export type RootChildId = 'store' | 'telemetry' | 'backends' | 'router' | 'sessions' | 'frontDoor';

export interface RootChildSpec {
  id: RootChildId;
  restart: RestartPolicy;
  /** Only for the `backends` and `sessions` supervisors. */
  strategy?: SupervisorStrategy;
  intensity?: number;
  periodMs?: number;
}

export interface SupervisionConfig extends SupervisorFlags {
  /** Restart backoff: the first restart waits `initialMs`, each further one in the period doubles it, up to `maxMs`. */
  backoff: { initialMs: number; maxMs: number };
  children: RootChildSpec[];
}

export interface BackendTimeouts {
  /** TCP/TLS connect. */
  connectMs: number;
  /** Until the response headers arrive (time to first byte). */
  headersMs: number;
  /** Longest silence between two body chunks. */
  bodyIdleMs: number;
}

/** Circuit breaker settings (machines/breaker.machine.ts). */
export interface BreakerConfig {
  /** Consecutive counted failures that open the breaker. */
  failureThreshold: number;
  /** Opens also when, within `windowMs` and over at least `minRequests` calls, the failure share reaches `threshold` (0–1). */
  errorRate: { threshold: number; windowMs: number; minRequests: number };
  /** First open period; each reopen without a close in between multiplies it by `cooldownMultiplier`, up to `maxCooldownMs`. */
  cooldownMs: number;
  maxCooldownMs: number;
  cooldownMultiplier: number;
  /** Calls let through at once while half-open. */
  halfOpenProbes: number;
}

/** Retry settings (src/resilience/retry.ts). */
export interface RetryConfig {
  /** Attempts per request in all, across backends (1 = no retry). */
  maxAttempts: number;
  /** Full-jitter exponential backoff: attempt n waits random(0, min(maxDelayMs, baseDelayMs × 2^(n−1))). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface BackendConfig {
  id: string;
  provider: ProviderName;
  /** Defaults to the provider preset's base URL; required for `openai-compatible`. */
  baseUrl: string;
  /** Name of the env var holding the API key; the key itself never appears in config or logs. */
  apiKeyEnv?: string;
  /** Models this backend serves, as the provider names them. */
  models: string[];
  /** Extra headers sent upstream (non-secret: e.g. OpenRouter's HTTP-Referer / X-Title). */
  headers: Record<string, string>;
  timeouts: BackendTimeouts;
  /** Keep-alive connections in the undici pool. */
  connections: number;
  restart: RestartPolicy;
  limits?: { requestsPerMinute?: number; tokensPerMinute?: number };
  /** This backend's breaker (defaults: `resilience.breaker`). */
  breaker: BreakerConfig;
}

export interface AgentConfig {
  id: string;
  /** Env var holding this agent's bearer key. */
  keyEnv: string;
  /** Free-form agent type (used later as a routing hint), e.g. "coder". */
  type?: string;
  /** The agent's tenant: the cache and the dedupe are shared within a tenant, never across. Default `default`. */
  tenant?: string;
  limits?: { requestsPerMinute?: number; tokensPerMinute?: number };
}

export interface RoutingConfig {
  /** alias → `backendId/model`. */
  aliases: Record<string, string>;
  /** `backendId/model` (or alias) → the `backendId/model`s to fail over to, in order. */
  fallbacks: Record<string, string[]>;
  /** What `model: "auto"` (or an omitted model) resolves to: an alias or `backendId/model`. Empty = first backend's first model. */
  defaultModel: string;
}

/** An alert rule (src/alerts/): each kind watches bus events; `id` names the alert it raises. */
export type AlertRule =
  /** Requests answered with a server-side error (status ≥ 500) reach `threshold` (0–1) of at least `minRequests` within `windowMs`. */
  | { id: string; kind: 'error_rate'; threshold: number; windowMs: number; minRequests: number }
  /** At least `rejections` 429s from the limiter within `windowMs`, or (when set) `queueDepth` requests waiting at once. */
  | { id: string; kind: 'limit_saturated'; rejections: number; windowMs: number; queueDepth?: number }
  /** The cache hit rate falls below `below` (0–1) over at least `minRequests` cache lookups within `windowMs`. */
  | { id: string; kind: 'cache_hit_rate'; below: number; windowMs: number; minRequests: number }
  /** A backend's breaker has not closed for `forMs` after it opened (one alert per backend). */
  | { id: string; kind: 'breaker_open'; forMs: number }
  /** At least `count` requests dead-lettered within `windowMs`. */
  | { id: string; kind: 'dlq_growth'; count: number; windowMs: number };

export type AlertRuleKind = AlertRule['kind'];

export interface OptimizerConfig {
  server: {
    host: string;
    port: number;
    /** Largest request body accepted, in bytes (413 above). */
    maxBodyBytes: number;
    /** Longest time a client may take to send its request (headers + body). */
    requestTimeoutMs: number;
    /** How long SIGTERM waits for in-flight requests before cutting them. */
    shutdownGraceMs: number;
    /** Idle keep-alive timeout for client connections. */
    keepAliveTimeoutMs: number;
  };
  store: { path: string; mapSizeBytes: number };
  cache: {
    enabled: boolean;
    /** How long a cached answer is served (a request's `Cache-Control: max-age` overrides it). */
    ttlMs: number;
    /** Most answers kept; the oldest are evicted past it. */
    maxEntries: number;
    /** Cache these agents' and models' answers even when they are not deterministic. */
    optIn: { agents: string[]; models: string[] };
  };
  dedupe: { enabled: boolean; windowMs: number };
  limits: {
    global: { requestsPerMinute: number; tokensPerMinute?: number };
    perAgent: { requestsPerMinute: number; tokensPerMinute?: number };
    maxQueueWaitMs: number;
  };
  backends: BackendConfig[];
  routing: RoutingConfig;
  agents: AgentConfig[];
  sessions: {
    /** An HTTP-only agent's session actor stops after this long without requests. */
    idleTimeoutMs: number;
    /** Upper bound on live session actors; past it a new agent gets 503 SESSIONS_EXHAUSTED until idle sessions expire. */
    maxSessions: number;
    /** WebSocket ping interval; a peer that has not answered one ping by the next is dropped. */
    pingIntervalMs: number;
    /** Largest WebSocket message accepted, in bytes. */
    maxFrameBytes: number;
  };
  admin: {
    /** Env var holding the admin key guarding /admin/*; unset = admin endpoints open on loopback only. */
    keyEnv?: string;
    /** Allows POST /admin/actors/:id/crash (chaos testing). Off by default. */
    allowFaultInjection: boolean;
  };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  /** The event stream (`GET /admin/events`, WebSocket `subscribe`). */
  events: {
    /** Events one subscriber may have waiting; past it the oldest are dropped and counted. */
    subscriberBufferSize: number;
    /** SSE heartbeat (a comment line) interval, in ms. */
    heartbeatMs: number;
  };
  /** Alerts raised from bus events (docs/observability.md). */
  alerts: {
    rules: AlertRule[];
    /** Env var holding the webhook URL (a URL with a token in it is a secret). */
    webhookUrlEnv?: string;
    /** A webhook URL without a secret in it (prefer `webhookUrlEnv`). */
    webhookUrl?: string;
    /** Longest a webhook POST may take, in ms. */
    webhookTimeoutMs: number;
    /** How often time-based conditions (a breaker open too long, a window emptying) are re-evaluated, in ms. */
    evaluateIntervalMs: number;
  };
  resilience: {
    retry: RetryConfig;
    /** Defaults for every backend's `breaker`. */
    breaker: BreakerConfig;
    /** Longest a request may take in all (queueing, attempts, backoff), in ms; none waits past it. */
    requestTimeoutMs: number;
    /** Seed of the retry jitter (tests set it for determinism); unset = random. */
    jitterSeed?: number;
  };
  supervision: SupervisionConfig;
}

/** What `loadConfig` reads besides the file: CLI flags and env overrides. */
export interface ConfigOverrides {
  configPath?: string;
  port?: number;
  dataDir?: string;
}
