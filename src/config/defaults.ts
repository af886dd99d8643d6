/**
 * The one place defaults live. A config file only states what differs from these; `loadConfig`
 * deep-merges the file over them (objects merge, arrays replace), then applies
 * {@link BACKEND_DEFAULTS} to each backend entry and the child spec of the same id to each
 * `supervision.children` entry.
 */
import { deepFreeze } from './deep-freeze.js';
import type { AlertRule, AlertRuleKind, BackendConfig, OptimizerConfig, ProviderName } from './types.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Defaults of the whole configuration (no backends, no agents: those only come from the file). */
export const DEFAULTS: OptimizerConfig = deepFreeze({
  server: {
    host: '127.0.0.1', // loopback until the operator opens it up
    port: 8080,
    maxBodyBytes: 4 * MiB, // bytes; agent system prompts run to tens of KB, images more
    requestTimeoutMs: 30_000, // ms to receive a request's headers and body
    shutdownGraceMs: 10_000, // ms SIGTERM waits for in-flight work
    keepAliveTimeoutMs: 65_000, // ms; above the 60 s idle timeout of common load balancers
  },
  store: {
    path: './data', // relative to the working directory
    mapSizeBytes: 2 * GiB, // bytes of LMDB address space (sparse; not allocated up front)
    syncEachCommit: false, // dead letters are synced regardless; the cache need not wait for the disk
  },
  cache: { enabled: true, ttlMs: 3_600_000 /* 1 h */, maxEntries: 100_000, optIn: { agents: [], models: [] } },
  dedupe: { enabled: true, windowMs: 5_000 /* ms after completion a duplicate still joins */ },
  limits: {
    global: { requestsPerMinute: 300 },
    perAgent: { requestsPerMinute: 30 },
    maxQueueWaitMs: 30_000, // ms a request may queue for a limit before a 429
  },
  backends: [],
  discovery: {
    cloudFromEnv: false, // opt-in: a key in the shell should not silently become a backend
    local: [
      { provider: 'ollama', baseUrl: 'http://127.0.0.1:11434' },
      { provider: 'vllm', baseUrl: 'http://127.0.0.1:8000' },
    ],
    intervalMs: 15_000, // ms between probe rounds
    timeoutMs: 1_000, // ms per probe request
  },
  routing: {
    aliases: {},
    fallbacks: {},
    defaultModel: '',
    // docs/routing.md: entries are `backendId/model`, an alias, a bare model id, or `provider:<name>`;
    // only what is configured counts. A file's list for a task replaces the default list for it.
    tasks: {
      reasoning: ['deepseek-reasoner', 'deepseek/deepseek-r1', 'deepseek-r1', 'kimi-k2-thinking', 'provider:deepseek'],
      code: ['qwen-3-coder-480b', 'grok-code-fast-1', 'codestral-latest', 'provider:cerebras'],
      general: ['provider:cerebras', 'provider:groq'],
      long: ['provider:together', 'provider:xai'],
      embeddings: ['nomic-embed-text'],
    },
    weights: { task: 4, quota: 1, latency: 1, cost: 1, halfOpenPenalty: 2 },
    longPromptTokens: 0, // 0 = the smallest known context window among the configured chat models
  },
  catalog: {}, // over the built-in catalog (src/providers/catalog-data.ts)
  agents: [],
  sessions: {
    idleTimeoutMs: 300_000, // 5 min
    maxSessions: 10_000,
    pingIntervalMs: 30_000, // ms
    maxFrameBytes: 4 * MiB, // bytes
  },
  admin: { allowFaultInjection: false },
  log: { level: 'info' },
  metrics: {
    enabled: true,
    maxAgentLabels: 50, // agent label values when no agents are configured (the rest: `other`)
    retentionMs: 7 * 24 * 3_600_000, // 7 days of per-minute roll-ups
    flushIntervalMs: 10_000, // ms between roll-up writes
    adminOnly: false, // /metrics is open like /health
  },
  events: {
    subscriberBufferSize: 1_000, // events waiting per subscriber before the oldest are dropped
    heartbeatMs: 15_000, // ms between SSE heartbeat comments
  },
  alerts: {
    rules: [
      { id: 'error-rate', kind: 'error_rate', threshold: 0.25, windowMs: 300_000, minRequests: 20 },
      { id: 'limits-saturated', kind: 'limit_saturated', rejections: 10, windowMs: 60_000 },
      { id: 'breaker-open', kind: 'breaker_open', forMs: 60_000 },
      { id: 'dlq-growth', kind: 'dlq_growth', count: 5, windowMs: 300_000 },
    ],
    webhookTimeoutMs: 5_000, // ms per webhook POST
    evaluateIntervalMs: 1_000, // ms between re-evaluations of time-based conditions
  },
  resilience: {
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5_000 },
    breaker: {
      failureThreshold: 5, // consecutive failures
      errorRate: { threshold: 0.5, windowMs: 30_000, minRequests: 20 },
      cooldownMs: 5_000, // first open period, ms
      maxCooldownMs: 60_000,
      cooldownMultiplier: 2,
      halfOpenProbes: 1,
    },
    requestTimeoutMs: 300_000, // 5 min: long reasoning answers included
  },
  runtime: {
    // V8 left to itself let the heap grow to 4× what lived (peak RSS 188–217 MiB under load);
    // at 2× it was 147–166 MiB for the same CPU per request, at 1.75× 145 against 153 MiB for
    // 2–3% more CPU (bench:ab, src/runtime/heap-growth.ts).
    heapGrowingPercent: 75,
  },
  supervision: {
    // DESIGN.md §3: a crash restarts the child and everything started after it.
    strategy: 'rest_for_one',
    intensity: 3, // restarts ...
    periodMs: 5_000, // ... per this many ms before the root gives up
    backoff: { initialMs: 100, maxMs: 5_000 },
    children: [
      { id: 'store', restart: 'permanent' },
      { id: 'telemetry', restart: 'permanent' },
      { id: 'backends', restart: 'permanent', strategy: 'one_for_one', intensity: 10, periodMs: 10_000 },
      { id: 'router', restart: 'permanent' },
      { id: 'sessions', restart: 'permanent', strategy: 'one_for_one', intensity: 100, periodMs: 10_000 },
      { id: 'frontDoor', restart: 'permanent' },
    ],
  },
} satisfies OptimizerConfig);

/** The part of a backend entry that has defaults (besides `baseUrl` and `apiKeyEnv`, which come from its provider preset). */
export type BackendDefaults = Pick<BackendConfig, 'headers' | 'timeouts' | 'connections' | 'restart'>;

/** Defaults applied to each entry of `backends[]`. */
export const BACKEND_DEFAULTS: BackendDefaults = deepFreeze({
  headers: {},
  timeouts: {
    connectMs: 5_000, // ms for TCP + TLS
    headersMs: 60_000, // ms to first byte; reasoning models think before answering
    bodyIdleMs: 60_000, // ms of silence allowed between two body chunks
  },
  connections: 64, // keep-alive sockets in the backend's undici pool
  restart: 'permanent',
} satisfies BackendDefaults);

/** Calls that may wait for a slot of a backend with `maxConcurrency` when its `maxQueued` is unset. */
export const DEFAULT_MAX_QUEUED = 1_024;

/**
 * Per-provider defaults applied over {@link BACKEND_DEFAULTS}. vLLM batches what it is sent but
 * slows everyone down (and preempts) once its KV cache is full: the optimizer queues past 64
 * calls instead of piling them on; raise it towards the server's `--max-num-seqs`.
 */
export const PROVIDER_BACKEND_DEFAULTS: Readonly<Partial<Record<ProviderName, Partial<BackendConfig>>>> = deepFreeze({
  vllm: { maxConcurrency: 64 }, // calls at once
});

/** Defaults of each alert rule kind: a rule in the file needs only `id` and `kind` (src/alerts/). */
export const ALERT_RULE_DEFAULTS = deepFreeze({
  error_rate: { threshold: 0.25, windowMs: 300_000, minRequests: 20 },
  limit_saturated: { rejections: 10, windowMs: 60_000 },
  cache_hit_rate: { below: 0.2, windowMs: 300_000, minRequests: 50 },
  breaker_open: { forMs: 60_000 },
  dlq_growth: { count: 5, windowMs: 300_000 },
} satisfies { [K in AlertRuleKind]: Omit<Extract<AlertRule, { kind: K }>, 'id' | 'kind'> });
