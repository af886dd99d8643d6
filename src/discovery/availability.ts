/**
 * Which backends can take a call right now, as far as configuration and the health probes know
 * (the circuit breakers know the rest). Like the quota trackers, this is the upstreams' state, so
 * it lives outside the backend actors and outlives their restarts.
 *
 * - disabled: a key env var is unset (fixed at start);
 * - unreachable / unhealthy: a local backend's last probe failed (src/discovery/discovery.ts).
 *
 * The request path asks two cheap questions: {@link Availability.anyUsable} (a boolean) and
 * {@link Availability.unusableReason} (a lookup in a map that holds only the backends that are down).
 */
import type { LocalProvider } from '../config/types.js';
import { OptimizerError } from '../errors/registry.js';
import type { VllmMetrics } from './prometheus.js';
import type { DiscoveredModel } from './probe.js';

/** What the probes know of one local backend (shown in /health). */
export interface ProbeStatus {
  provider: LocalProvider;
  /** The server root probed, e.g. `http://127.0.0.1:8000`. */
  url: string;
  state: 'unknown' | 'reachable' | 'unhealthy' | 'unreachable';
  /** Why it is not reachable. */
  reason?: string;
  /** When it was last probed / when it entered its state (ms since the epoch). */
  checkedAt?: number;
  since?: number;
  /** What it listed when last reachable. */
  models: DiscoveredModel[];
  /** vLLM's load gauges from its /metrics, as last read. */
  metrics?: VllmMetrics;
}

const SERVER_NAMES: Record<LocalProvider, string> = { ollama: 'Ollama', vllm: 'vLLM', lmstudio: 'LM Studio' };

export class Availability {
  readonly #disabled = new Map<string, string>();
  readonly #probes = new Map<string, ProbeStatus>();
  /** Only the backends a probe says are down: the request path's lookup. */
  readonly #down = new Map<string, string>();
  readonly #backends: string[] = [];
  #anyUsable = false;

  /**
   * @param hint what to do when nothing is reachable, e.g. `set GROQ_API_KEY / CEREBRAS_API_KEY, or
   *   start Ollama on 127.0.0.1:11434 / vLLM on 127.0.0.1:8000` (see {@link nothingReachableHint}).
   */
  constructor(private readonly hint: () => string) {}

  /** A backend the tree runs; `disabledReason` when its key is missing. */
  addBackend(id: string, disabledReason?: string): void {
    if (!this.#backends.includes(id)) this.#backends.push(id);
    if (disabledReason !== undefined) this.#disabled.set(id, disabledReason);
    this.#recount();
  }

  /** Records a probe's outcome for a backend. */
  setProbe(id: string, status: ProbeStatus): void {
    this.#probes.set(id, status);
    if (status.state === 'unreachable' || status.state === 'unhealthy') {
      this.#down.set(id, `backend ${id} is ${status.state} at ${status.url}${status.reason ? ` (${status.reason})` : ''}`);
    } else this.#down.delete(id);
    this.#recount();
  }

  probe(id: string): ProbeStatus | undefined {
    return this.#probes.get(id);
  }

  disabledReason(id: string): string | undefined {
    return this.#disabled.get(id);
  }

  /** Why a probe says this backend cannot take calls now; `undefined` when nothing says so. */
  unusableReason(id: string): string | undefined {
    return this.#down.size === 0 ? undefined : this.#down.get(id);
  }

  /** Whether a backend is neither disabled nor down. */
  usable(id: string): boolean {
    return !this.#disabled.has(id) && !this.#down.has(id);
  }

  /** Whether some backend is neither disabled nor down (breakers aside). */
  get anyUsable(): boolean {
    return this.#anyUsable;
  }

  /** Ids of every backend, in the order they were added. */
  get backendIds(): readonly string[] {
    return this.#backends;
  }

  /** The one-line reason /health and the start log give when no backend is usable. */
  nothingReachableMessage(): string {
    return `no backend reachable: ${this.hint()}`;
  }

  /** The 503 a request gets when no backend is usable (NO_BACKEND_REACHABLE). */
  nothingReachableError(): OptimizerError {
    return new OptimizerError('NO_BACKEND_REACHABLE', `No backend is reachable: ${this.hint()}.`);
  }

  #recount(): void {
    this.#anyUsable = this.#backends.some((id) => this.usable(id));
  }
}

/**
 * What an operator can do when nothing is reachable: the key env vars that would enable a
 * backend, and the local servers that would be found. E.g.
 * `set GROQ_API_KEY / CEREBRAS_API_KEY, or start Ollama on 127.0.0.1:11434 / vLLM on 127.0.0.1:8000`.
 */
export function nothingReachableHint(keyEnvNames: readonly string[], localServers: readonly { provider: LocalProvider; url: string }[]): string {
  const parts: string[] = [];
  const keys = [...new Set(keyEnvNames)];
  if (keys.length > 0) parts.push(`set ${keys.join(' / ')}`);
  const seen = new Set<string>();
  const servers: string[] = [];
  for (const server of localServers) {
    if (seen.has(server.url)) continue;
    seen.add(server.url);
    servers.push(`${SERVER_NAMES[server.provider]} on ${server.url.replace(/^https?:\/\//, '')}`);
  }
  if (servers.length > 0) parts.push(`start ${servers.join(' / ')}`);
  if (parts.length === 0) return 'add a backend to `backends` in supervisor.config.json (docs/local-backends.md)';
  return parts.join(', or ');
}
