import { ERRORS } from '../errors/registry.js';
import type { OptimizerEvent } from '../telemetry/event-bus.js';
import { countersOf, zeroCounters, type Counters } from './counters.js';
import { bucketIndex, type LatencySource } from './latency.js';
import type { MetricLabels } from './labels.js';
import type { RollupBook } from './rollup-book.js';

/** What an upstream call costs in USD, or undefined when the price is unknown. */
export type CostFunction = (backendId: string, model: string, tokensIn: number, tokensOut: number) => number | undefined;

/** The events the recorder counts (the bus topics it subscribes to). */
export const RECORDED_TOPICS = [
  'request.completed',
  'ratelimit.queued',
  'ratelimit.rejected',
  'backend.failed',
  'backend.failover',
  'breaker.opened',
  'breaker.half_opened',
  'breaker.closed',
  'actor.restarted',
  'dlq.enqueued',
] as const;

/** One Prometheus series of the per-request counters: agent × backend × model. */
export interface Cell {
  labels: { agent: string; backend: string; model: string };
  counters: Counters;
}

export interface RecorderOptions {
  labels: MetricLabels;
  book: RollupBook;
  /** `backend/model` → the provider's own model id (for the price function). */
  providerModel: (name: string) => string | undefined;
  cost?: CostFunction | undefined;
  /** Each answered request's latency (the Prometheus histogram). */
  onLatency?: ((source: LatencySource, backend: string, ms: number) => void) | undefined;
}

const SEP = '\u001f';

/**
 * Turns bus events into counters: per agent × backend × model since the process started
 * (the Prometheus series), and into the current minute's and the lifetime roll-ups
 * (totals and by agent, backend, model). Runs synchronously in the publisher's call, so
 * it only bumps numbers in objects it already has.
 */
export class MetricsRecorder {
  readonly cells = new Map<string, Cell>();
  /** backend␟code → failed upstream attempts. */
  readonly upstreamErrors = new Map<string, number>();
  /** backend␟code → requests answered with that error (`none` when never routed). */
  readonly requestErrors = new Map<string, number>();
  /** from␟to → failovers. */
  readonly failovers = new Map<string, number>();
  /** backend␟state → breaker transitions into that state. */
  readonly breakerTransitions = new Map<string, number>();
  /** supervisor␟child → restarts. */
  readonly restarts = new Map<string, number>();
  dlqEnqueued = 0;
  readonly #targets: Counters[] = [];

  constructor(private readonly options: RecorderOptions) {}

  record(event: OptimizerEvent): void {
    switch (event.type) {
      case 'request.completed':
        return this.#completed(event);
      case 'ratelimit.queued':
        return this.#bump(event, 'rateLimitQueued');
      case 'ratelimit.rejected':
        return this.#bump(event, 'rateLimitRejected');
      case 'backend.failed': {
        const backend = this.options.labels.backend(event.backend);
        increment(this.upstreamErrors, backend + SEP + codeLabel(event.code));
        return this.#bump(event, 'upstreamErrors');
      }
      case 'backend.failover': {
        const { labels } = this.options;
        increment(this.failovers, labels.backend(event.from) + SEP + labels.backend(event.to));
        return this.#bump({ ...event, backend: event.from }, 'failovers');
      }
      case 'breaker.opened':
      case 'breaker.half_opened':
      case 'breaker.closed':
        increment(this.breakerTransitions, this.options.labels.backend(event.backendId) + SEP + event.type.slice('breaker.'.length));
        return;
      case 'actor.restarted': {
        const supervisor = typeof event.supervisor === 'string' ? event.supervisor : 'unknown';
        // Session actors are named after agents: never a label of their own.
        const child = supervisor === 'sessions' ? 'session' : typeof event.childId === 'string' ? event.childId : 'unknown';
        increment(this.restarts, supervisor + SEP + child);
        return;
      }
      case 'dlq.enqueued':
        this.dlqEnqueued++;
        return;
    }
  }

  /** Splits a `a␟b` key of the maps above. */
  static split(key: string): [string, string] {
    const at = key.indexOf(SEP);
    return [key.slice(0, at), key.slice(at + 1)];
  }

  #completed(event: OptimizerEvent): void {
    const { labels, cost } = this.options;
    const backend = labels.backend(event.backend);
    const model = labels.model(event.model);
    const targets = this.#targetsFor(event.at, labels.agent(String(event.agentId)), backend, model);
    const outcome = event.outcome;
    const hit = event.cache === 'hit';
    // A join saved a call only when the answer came: a joiner whose leader failed got its error.
    const joined = outcome === 'dedupe.joined';
    const failed = outcome !== 'ok' && outcome !== 'cache.hit' && outcome !== 'dedupe.joined';
    const tokensIn = num(event.tokensIn);
    const tokensOut = num(event.tokensOut);
    const savedIn = num(event.tokensSavedIn);
    const savedOut = num(event.tokensSavedOut);
    let spent = 0;
    let saved = 0;
    if (cost && (tokensIn > 0 || tokensOut > 0 || savedIn > 0 || savedOut > 0) && typeof event.backend === 'string' && typeof event.model === 'string') {
      const providerModel = this.options.providerModel(event.model);
      if (providerModel !== undefined) {
        if (tokensIn > 0 || tokensOut > 0) spent = safeCost(cost, event.backend, providerModel, tokensIn, tokensOut);
        if (savedIn > 0 || savedOut > 0) saved = safeCost(cost, event.backend, providerModel, savedIn, savedOut);
      }
    }
    for (const c of targets) {
      c.requests++;
      if (hit) c.cacheHits++;
      else if (event.cache === 'miss') c.cacheMisses++;
      if (joined) c.dedupeJoins++;
      if (failed) c.errors++;
      c.tokensIn += tokensIn;
      c.tokensOut += tokensOut;
      c.tokensSaved += savedIn + savedOut;
      c.costUsd += spent;
      c.costSavedUsd += saved;
    }
    if (failed) increment(this.requestErrors, backend + SEP + codeLabel(outcome));
    else if (typeof event.latencyMs === 'number') {
      const source: LatencySource = hit ? 'cache' : joined ? 'dedupe' : 'upstream';
      this.options.book.minute(event.at).latency[source][bucketIndex(event.latencyMs)]!++;
      this.options.onLatency?.(source, backend, event.latencyMs);
    }
  }

  /** Adds 1 to `field` for the event's agent, backend and model. */
  #bump(event: Pick<OptimizerEvent, 'at'> & Record<string, unknown>, field: keyof Counters): void {
    const { labels } = this.options;
    const agentId = event.agentId;
    const targets = this.#targetsFor(event.at, typeof agentId === 'string' ? labels.agent(agentId) : 'none', labels.backend(event.backend), labels.model(event.model));
    for (const c of targets) c[field]++;
  }

  /** The counters one event adds to: its series, and the minute's and the lifetime's totals and breakdowns. */
  #targetsFor(at: number, agent: string, backend: string, model: string): Counters[] {
    const key = agent + SEP + backend + SEP + model;
    let cell = this.cells.get(key);
    if (!cell) {
      cell = { labels: { agent, backend, model }, counters: zeroCounters() };
      this.cells.set(key, cell);
    }
    const minute = this.options.book.minute(at);
    const lifetime = this.options.book.lifetime(at);
    const t = this.#targets;
    t[0] = cell.counters;
    t[1] = minute.totals;
    t[2] = countersOf(minute.byAgent, agent);
    t[3] = countersOf(minute.byBackend, backend);
    t[4] = countersOf(minute.byModel, model);
    t[5] = lifetime.totals;
    t[6] = countersOf(lifetime.byAgent, agent);
    t[7] = countersOf(lifetime.byBackend, backend);
    t[8] = countersOf(lifetime.byModel, model);
    return t;
  }
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Error codes come from the registry (a bounded set); anything else is not a label. */
function codeLabel(code: unknown): string {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code) ? code : 'UNKNOWN';
}

function safeCost(cost: CostFunction, backend: string, model: string, tokensIn: number, tokensOut: number): number {
  try {
    const usd = cost(backend, model, tokensIn, tokensOut);
    return typeof usd === 'number' && Number.isFinite(usd) && usd > 0 ? usd : 0;
  } catch {
    return 0;
  }
}
