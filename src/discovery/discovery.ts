/**
 * Finds the backends that are really there, besides those configured in `backends[]`:
 *
 * - cloud presets whose key env var is set (`discovery.cloudFromEnv`, fixed at start);
 * - local servers (`discovery.local`: Ollama on 127.0.0.1:11434 and vLLM on 127.0.0.1:8000 by
 *   default) that answer their probe. One that answers becomes a backend (`ollama`, `vllm`) whose
 *   models are what the server lists; it is probed every round from then on, like every configured
 *   local backend (provider `ollama`, `vllm`, `lmstudio`), and marked reachable, unhealthy (vLLM's
 *   /health says 503) or unreachable in {@link Availability}.
 *
 * A first round runs before the supervision tree starts (so the tree starts with every backend
 * found), then one every `intervalMs`, rounds never overlapping. A backend is never removed: one
 * that goes away stays in the tree and the routing table, marked unreachable, so that requests for
 * its models get a clear 503 rather than a 404, and it is used again as soon as it answers.
 * Backends found later, and models that appear later (`ollama pull`), are announced through
 * {@link Discovery.onChange}; the optimizer adds the actor and swaps the routing table.
 */
import { Agent } from '../upstream/undici.js';
import { disabledReasonFor } from '../../actors/backend.js';
import { withBackendDefaults } from '../config/load.js';
import { Secret } from '../config/secret.js';
import { readSecret } from '../config/secrets.js';
import type { BackendConfig, LocalProvider, OptimizerConfig, ProviderName } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { PROVIDER_PRESETS } from '../providers/presets.js';
import { buildRoutingTable, type RouteTarget, type RoutingTable } from '../routing/table.js';
import type { EventBus } from '../telemetry/event-bus.js';
import { Availability, nothingReachableHint, type ProbeStatus } from './availability.js';
import { cloudBackendsFromEnv, cloudKeyEnvNames } from './cloud-from-env.js';
import { probeServer, type DiscoveredModel, type ProbeResult } from './probe.js';
import { serverRoot } from './server-root.js';

export interface DiscoveryDeps {
  config: OptimizerConfig;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  bus: EventBus;
  /** Wall clock for `checkedAt` (tests may inject one). */
  now?: () => number;
}

/** What changed after a round: backends to start, and the routing table to use from now on. */
export interface DiscoveryChange {
  added: BackendConfig[];
  table: RoutingTable;
}

/** A local backend that every round probes. */
interface Probed {
  backendId: string;
  provider: LocalProvider;
  root: string;
  apiKey: Secret | undefined;
}

/** A `discovery.local` entry not (yet) a backend. */
interface Candidate {
  provider: LocalProvider;
  root: string;
  id: string | undefined;
  maxConcurrency: number | undefined;
  /** The backend it became, once found. */
  backendId: string | undefined;
  state: 'unknown' | 'absent' | 'unhealthy' | 'found';
  reason: string | undefined;
  checkedAt: number | undefined;
}

/** One `discovery.local` entry as /health shows it. */
export interface LocalProbeHealth {
  provider: LocalProvider;
  url: string;
  /** `found` (it is backend `backend`), `absent` (nothing answers there), `unhealthy`, or `unknown` (not probed yet). */
  state: Candidate['state'];
  backend?: string;
  reason?: string;
  checkedAt?: number;
}

export class Discovery {
  readonly availability: Availability;
  readonly #deps: DiscoveryDeps;
  readonly #now: () => number;
  /** Configured backends, then those added: from env at start, then local ones as found. */
  readonly #backends: BackendConfig[];
  /** Ids of the backends discovered locally (their models are what the server lists, nothing else). */
  readonly #found = new Set<string>();
  readonly #probed: Probed[] = [];
  readonly #candidates: Candidate[];
  /** backend id → what it listed when last reachable. */
  readonly #served = new Map<string, DiscoveredModel[]>();
  readonly #listeners: ((change: DiscoveryChange) => void)[] = [];
  readonly #dispatcher: Agent;
  #signature: string;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(deps: DiscoveryDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    const { config, env } = deps;
    this.#dispatcher = new Agent({ keepAliveTimeout: Math.min(config.discovery.intervalMs * 2, 60_000), connections: 2, connect: { timeout: config.discovery.timeoutMs } });
    const fromEnv = config.discovery.cloudFromEnv ? cloudBackendsFromEnv(config.backends, env).map((entry) => this.#complete(entry)) : [];
    this.#backends = [...config.backends, ...fromEnv];
    this.availability = new Availability(() => this.#hint());
    for (const backend of this.#backends) this.availability.addBackend(backend.id, disabledReasonFor(backend, env));

    const configuredRoots = new Set(config.backends.map((b) => serverRoot(b.baseUrl)));
    for (const backend of config.backends) {
      const kind = probeKind(backend.provider);
      if (kind === undefined) continue;
      this.#watch(backend.id, kind, serverRoot(backend.baseUrl), readSecret(backend.apiKeyEnv, env));
    }
    // A configured backend at the same address is that server: it is probed as configured.
    this.#candidates = config.discovery.local
      .filter((entry) => !configuredRoots.has(entry.baseUrl))
      .map((entry) => ({
        provider: entry.provider,
        root: entry.baseUrl,
        id: entry.id,
        maxConcurrency: entry.maxConcurrency,
        backendId: undefined,
        state: 'unknown',
        reason: undefined,
        checkedAt: undefined,
      }));
    this.#signature = signature(this.backends());
  }

  /** Runs the first round (each probe bounded by `discovery.timeoutMs`), then one every `intervalMs`. */
  async start(): Promise<void> {
    await this.refresh();
    this.#schedule();
  }

  /** Runs a round now, after the one in progress if any; resolves when its outcome is applied. */
  refresh(): Promise<void> {
    const round = this.#chain.then(() => this.#round());
    this.#chain = round.catch(() => undefined);
    return round;
  }

  /** Stops probing (idempotent). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#dispatcher.destroy().catch(() => undefined);
  }

  /** Told after a round that added backends or changed the models served. */
  onChange(listener: (change: DiscoveryChange) => void): void {
    this.#listeners.push(listener);
  }

  /** Every backend, configured or discovered, with the models it serves now (configured ones plus what it lists). */
  backends(): BackendConfig[] {
    return this.#backends.map((backend) => {
      const served = this.#served.get(backend.id);
      if (served === undefined) return backend;
      const models = this.#found.has(backend.id) ? served.map((m) => m.id) : mergeModels(backend.models, served);
      return sameList(models, backend.models) ? backend : { ...backend, models };
    });
  }

  /** The routing table over {@link backends}. */
  routingTable(): RoutingTable {
    return buildRoutingTable({ backends: this.backends(), routing: this.#deps.config.routing });
  }

  /** Whether `GET /v1/models` lists a target: its backend is usable and, when probed, the server lists the model. */
  listable(target: RouteTarget): boolean {
    if (!this.availability.usable(target.backendId)) return false;
    if (this.availability.probe(target.backendId)?.state !== 'reachable') return true;
    const served = this.#served.get(target.backendId);
    return served === undefined || served.some((m) => sameModel(m.id, target.model));
  }

  /** The context window (vLLM's `max_model_len`) of a backend's model, when its server said. */
  contextWindow(backendId: string, model: string): number | undefined {
    return this.#served.get(backendId)?.find((m) => sameModel(m.id, model))?.maxModelLen;
  }

  /**
   * Every context window a server reported, by `backendId/model` (e.g. `vllm/Qwen/Qwen2.5-7B-Instruct`
   * → 32768): the shape of a model catalog's per-model overrides, for whoever ranks or checks lengths.
   */
  contextWindows(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [backendId, models] of this.#served) {
      for (const model of models) if (model.maxModelLen !== undefined) out[`${backendId}/${model.id}`] = model.maxModelLen;
    }
    return out;
  }

  /** The `discovery.local` entries and what became of them (for /health). */
  localProbes(): LocalProbeHealth[] {
    return this.#candidates.map((c) => ({
      provider: c.provider,
      url: c.root,
      state: c.state,
      ...(c.backendId === undefined ? {} : { backend: c.backendId }),
      ...(c.reason === undefined ? {} : { reason: c.reason }),
      ...(c.checkedAt === undefined ? {} : { checkedAt: c.checkedAt }),
    }));
  }

  /** What `GET /admin/discovery` answers: the settings, each local probe, each probed backend's last probe. */
  report(): { intervalMs: number; timeoutMs: number; cloudFromEnv: boolean; local: LocalProbeHealth[]; backends: (ProbeStatus & { backend: string })[] } {
    const { intervalMs, timeoutMs, cloudFromEnv } = this.#deps.config.discovery;
    const backends = this.#probed.flatMap((p) => {
      const status = this.availability.probe(p.backendId);
      return status ? [{ backend: p.backendId, ...status }] : [];
    });
    return { intervalMs, timeoutMs, cloudFromEnv, local: this.localProbes(), backends };
  }

  // ── rounds ──────────────────────────────────────────────────────────────────

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.refresh().finally(() => this.#schedule());
    }, this.#deps.config.discovery.intervalMs);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    if (this.#stopped) return;
    const { timeoutMs } = this.#deps.config.discovery;
    const options = { timeoutMs, dispatcher: this.#dispatcher };
    const open = this.#candidates.filter((c) => c.backendId === undefined);
    const [watched, looked] = await Promise.all([
      Promise.all(this.#probed.map((p) => probeServer(p.provider, p.root, { ...options, apiKey: p.apiKey?.reveal() }))),
      Promise.all(open.map((c) => probeServer(c.provider, c.root, { ...options, apiKey: readSecret(PROVIDER_PRESETS[c.provider].defaultApiKeyEnv, this.#deps.env) }))),
    ]);
    if (this.#stopped) return;
    const at = this.#now();
    const probedNow = [...this.#probed];
    probedNow.forEach((p, i) => this.#record(p, watched[i]!, at));

    const added: BackendConfig[] = [];
    open.forEach((candidate, i) => {
      const result = looked[i]!;
      candidate.checkedAt = at;
      if (result.state !== 'reachable') {
        candidate.state = result.state === 'unhealthy' ? 'unhealthy' : 'absent';
        candidate.reason = result.reason;
        return;
      }
      const backend = this.#adopt(candidate, result.models);
      added.push(backend);
      this.#record(this.#probed[this.#probed.length - 1]!, result, at);
    });

    const next = signature(this.backends());
    if (added.length === 0 && next === this.#signature) return;
    this.#signature = next;
    const change: DiscoveryChange = { added, table: this.routingTable() };
    for (const listener of this.#listeners) listener(change);
  }

  /** A candidate answered: it becomes a backend, probed every round from now on. */
  #adopt(candidate: Candidate, models: DiscoveredModel[]): BackendConfig {
    const id = this.#freeId(candidate);
    const entry: Record<string, unknown> = { id, provider: candidate.provider, baseUrl: `${candidate.root}/v1`, models: models.map((m) => m.id) };
    if (candidate.maxConcurrency !== undefined) entry.maxConcurrency = candidate.maxConcurrency;
    const backend = this.#complete(entry);
    this.#backends.push(backend);
    this.#found.add(id);
    this.availability.addBackend(id, disabledReasonFor(backend, this.#deps.env));
    this.#watch(id, candidate.provider, candidate.root, readSecret(backend.apiKeyEnv, this.#deps.env));
    candidate.backendId = id;
    candidate.state = 'found';
    candidate.reason = undefined;
    const what = `${describeServer(candidate.provider)} at ${candidate.root}`;
    this.#deps.logger.info({ event: 'backend.discovered', backend: id, provider: candidate.provider, url: candidate.root, models: backend.models }, `discovered ${what}: backend ${id} serving ${backend.models.length} model(s)`);
    this.#deps.bus.publish('backend.discovered', { backend: id, provider: candidate.provider, url: candidate.root, models: backend.models });
    return backend;
  }

  /** Applies one probe result to a watched backend, logging when its state changes. */
  #record(probed: Probed, result: ProbeResult, at: number): void {
    const { backendId: id } = probed;
    const previous = this.availability.probe(id);
    const status: ProbeStatus = {
      provider: probed.provider,
      url: probed.root,
      state: result.state,
      checkedAt: at,
      since: previous?.state === result.state ? (previous.since ?? at) : at,
      models: result.state === 'reachable' ? result.models : (previous?.models ?? []),
    };
    if (result.state === 'reachable') {
      this.#served.set(id, result.models);
      if (result.metrics) status.metrics = result.metrics;
    } else status.reason = result.reason;
    this.availability.setProbe(id, status);
    if (previous?.state === result.state) return;
    const fields = { backend: id, provider: probed.provider, url: probed.root, ...(status.reason ? { reason: status.reason } : {}) };
    if (result.state === 'reachable') {
      if (previous !== undefined && previous.state !== 'unknown') this.#deps.logger.info({ event: 'backend.reachable', ...fields }, `backend ${id} is reachable again at ${probed.root}`);
      this.#deps.bus.publish('backend.reachable', fields);
    } else {
      this.#deps.logger.warn({ event: `backend.${result.state}`, ...fields }, `backend ${id} is ${result.state} at ${probed.root}: ${result.reason}`);
      this.#deps.bus.publish(`backend.${result.state}`, fields);
    }
  }

  #watch(backendId: string, provider: LocalProvider, root: string, apiKey: string | undefined): void {
    this.#probed.push({ backendId, provider, root, apiKey: apiKey === undefined ? undefined : new Secret(apiKey) });
    this.availability.setProbe(backendId, { provider, url: root, state: 'unknown', models: [] });
  }

  /** The candidate's `id`, else its provider's name, else `<provider>-<port>`, else with a number. */
  #freeId(candidate: Candidate): string {
    const taken = new Set(this.#backends.map((b) => b.id));
    const port = new URL(candidate.root).port || (candidate.root.startsWith('https:') ? '443' : '80');
    for (const id of [candidate.id, candidate.provider, `${candidate.provider}-${port}`]) if (id !== undefined && !taken.has(id)) return id;
    for (let n = 2; ; n++) if (!taken.has(`${candidate.provider}-${port}-${n}`)) return `${candidate.provider}-${port}-${n}`;
  }

  /** A backend entry with every default filled in, as load.ts does for `backends[]`. */
  #complete(entry: object): BackendConfig {
    return withBackendDefaults(entry, this.#deps.config.resilience.breaker) as BackendConfig;
  }

  /** What to set or start when nothing is reachable. */
  #hint(): string {
    const keys: string[] = [];
    for (const backend of this.#backends) {
      if (this.availability.disabledReason(backend.id) !== undefined && backend.apiKeyEnv !== undefined) keys.push(backend.apiKeyEnv);
    }
    if (this.#deps.config.discovery.cloudFromEnv) keys.push(...cloudKeyEnvNames());
    const local = [...this.#probed.map((p) => ({ provider: p.provider, url: p.root })), ...this.#candidates.map((c) => ({ provider: c.provider, url: c.root }))];
    return nothingReachableHint(keys, local);
  }
}

/** Ollama names a model `llama3.2:latest` and accepts `llama3.2` for it. */
function sameModel(listed: string, wanted: string): boolean {
  return listed === wanted || listed === `${wanted}:latest` || wanted === `${listed}:latest`;
}

/** Configured models first, then those the server lists that are not among them. */
function mergeModels(configured: readonly string[], served: readonly DiscoveredModel[]): string[] {
  const out = [...configured];
  for (const model of served) if (!out.some((m) => sameModel(model.id, m))) out.push(model.id);
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Every `backend/model` routable, to tell whether the routing table must be rebuilt. */
function signature(backends: readonly BackendConfig[]): string {
  return backends.map((b) => `${b.id}:${b.models.join('\u0000')}`).join('\u0001');
}

function describeServer(provider: LocalProvider): string {
  return provider === 'vllm' ? 'vLLM' : provider === 'ollama' ? 'Ollama' : 'LM Studio';
}

/** How a configured local backend is probed: Ollama's native API and its `/v1` are one server. */
function probeKind(provider: ProviderName): LocalProvider | undefined {
  if (provider === 'ollama-native') return 'ollama';
  if (provider === 'ollama' || provider === 'vllm' || provider === 'lmstudio') return provider;
  return undefined;
}
