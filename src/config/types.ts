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
  | 'openai-compatible'
  // Native (non-OpenAI) wire formats, translated by src/providers/<name>/.
  | 'anthropic'
  | 'gemini'
  | 'ollama-native';

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
  /**
   * Calls sent to this backend at once; more wait in its transport (FIFO, up to `maxQueued`, each
   * until its request is cancelled or reaches its deadline). Unset = no limit (vLLM: 64 by default).
   */
  maxConcurrency?: number;
  /** Calls that may wait for a slot when `maxConcurrency` is reached (default 1024); past it a call fails at once (BACKEND_UNAVAILABLE) and fails over. */
  maxQueued?: number;
}

/** Local server kinds that discovery can probe (docs/local-backends.md). */
export type LocalProvider = 'ollama' | 'vllm' | 'lmstudio';

/** One local server discovery looks for. */
export interface LocalProbeConfig {
  provider: LocalProvider;
  /** The server's root URL, e.g. `http://127.0.0.1:11434` (a trailing `/v1` is accepted and dropped). */
  baseUrl: string;
  /** Id of the backend it becomes when found (default: the provider name, or `<provider>-<port>` when that id is taken). */
  id?: string;
  /** The `maxConcurrency` of the backend it becomes (default: the provider's, see `backends[].maxConcurrency`). */
  maxConcurrency?: number;
}

/** How backends are found besides `backends[]` (src/discovery/). */
export interface DiscoveryConfig {
  /** Add a backend for each cloud provider preset whose usual key env var is set (e.g. GROQ_API_KEY → `groq`), unless one is configured. */
  cloudFromEnv: boolean;
  /** Local servers probed at start and every `intervalMs`; one that answers becomes a backend. `[]` turns local discovery off. */
  local: LocalProbeConfig[];
  /** Between two probe rounds (local servers found and local backends configured), in ms. */
  intervalMs: number;
  /** Each probe request's timeout, in ms (no retries: the next round is the retry). */
  timeoutMs: number;
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
  /**
   * An alias or `backendId/model`: with task-aware routing, the first choice for `general` requests
   * of `model: "auto"`; also where `auto` goes when no configured model suits the request. Empty = none.
   */
  defaultModel: string;
  /** Task class → preferred models for `model: "auto"`, best first (docs/routing.md). */
  tasks: Record<TaskClass, string[]>;
  /** Weights of the candidate score (docs/routing.md). */
  weights: RoutingWeights;
  /** A prompt estimated above this many tokens is `long`; 0 = the smallest known context window of the configured chat models. */
  longPromptTokens: number;
}

/** What a request asks of a model (src/routing/classify.ts). */
export type TaskClass = 'reasoning' | 'code' | 'general' | 'long' | 'embeddings';

/** How much each input counts in a candidate's score (src/routing/score.ts). */
export interface RoutingWeights {
  /** Fit with the request's task class (the `routing.tasks` list, then the catalog's task strengths). */
  task: number;
  /** Remaining quota as the backend's rate-limit headers report it. */
  quota: number;
  /** Latency (the backend's EWMA). */
  latency: number;
  /** Price per token (the catalog). */
  cost: number;
  /** Subtracted while the backend's circuit breaker is half-open. */
  halfOpenPenalty: number;
}

/** One `catalog` entry: what is known about a model; every field overrides the built-in default. */
export interface CatalogEntry {
  /** Context window, in tokens (prompt + answer). */
  contextWindow?: number;
  /** USD per million input (prompt) tokens. */
  inputPerMTok?: number;
  /** USD per million output (completion) tokens. */
  outputPerMTok?: number;
  /** What the model is strong at. */
  tasks?: TaskClass[];
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
  store: { path: string; mapSizeBytes: number; syncEachCommit: boolean };
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
  discovery: DiscoveryConfig;
  routing: RoutingConfig;
  /** `model id` or `backendId/model` → context window, prices and task strengths, over the built-in catalog. */
  catalog: Record<string, CatalogEntry>;
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
  /** Metrics, `GET /metrics` and `GET /admin/stats` (docs/observability.md). */
  metrics: {
    /** Count requests and serve /metrics and /admin/stats; false = no listener on the request path. */
    enabled: boolean;
    /** Without `agents[]`, the first this many agents seen get their own label; the rest are `other`. */
    maxAgentLabels: number;
    /** Per-minute roll-ups older than this are pruned from the store, in ms. */
    retentionMs: number;
    /** How often the roll-ups are written to the store, in ms. */
    flushIntervalMs: number;
    /** Guard /metrics like /admin/* (admin key, or loopback only without one). Default false: open, like /health. */
    adminOnly: boolean;
  };
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
  /** The Node.js process the optimizer runs in. */
  runtime: {
    /**
     * How much V8 lets the old generation grow past what survived the last full GC before it
     * collects again, in percent (V8's `--heap-growing-percent`); 0 leaves V8's own choice.
     */
    heapGrowingPercent: number;
  };
}

/** What `loadConfig` reads besides the file: CLI flags and env overrides. */
export interface ConfigOverrides {
  configPath?: string;
  port?: number;
  dataDir?: string;
}
