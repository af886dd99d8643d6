import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Counters } from './counters.js';
import { BREAKER_STATE_VALUE, type GaugeSource } from './gauges.js';
import { LATENCY_BOUNDS_SECONDS, type LatencySource } from './latency.js';
import { MetricsRecorder } from './recorder.js';

/** Every metric name starts with this (the process metrics too). */
export const METRIC_PREFIX = 'optimizer_';

const CELL_LABELS = ['agent', 'backend', 'model'] as const;

/** The per-request counters exported per agent × backend × model: name, help, and the field it reads. */
const CELL_COUNTERS: { name: string; help: string; field: keyof Counters }[] = [
  { name: 'requests_total', help: 'Requests answered, whatever the outcome (counted when they complete).', field: 'requests' },
  { name: 'cache_hits_total', help: 'Requests answered from the response cache.', field: 'cacheHits' },
  { name: 'cache_misses_total', help: 'Requests that looked in the cache and did not find their answer.', field: 'cacheMisses' },
  { name: 'dedupe_joins_total', help: 'Requests answered by joining an identical request in flight or just finished (upstream calls saved).', field: 'dedupeJoins' },
  { name: 'ratelimit_queued_total', help: 'Requests that waited in a rate-limit queue.', field: 'rateLimitQueued' },
  { name: 'ratelimit_rejected_total', help: 'Requests refused with 429 RATE_LIMITED after waiting.', field: 'rateLimitRejected' },
  { name: 'request_errors_total', help: 'Requests answered with an error (see optimizer_request_errors_by_code_total for the codes).', field: 'errors' },
  { name: 'cost_usd_total', help: 'Cost of the upstream calls in USD, from the configured price function (0 when no price function is wired).', field: 'costUsd' },
  {
    name: 'cost_saved_usd_total',
    help: 'What the cache hits and dedupe joins would have cost upstream, in USD (0 when no price function is wired).',
    field: 'costSavedUsd',
  },
];

export interface PrometheusOptions {
  recorder: MetricsRecorder;
  gauges: GaugeSource;
  /** Include Node's process metrics (`optimizer_process_*`, `optimizer_nodejs_*`). Default true. */
  processMetrics?: boolean;
}

/**
 * The Prometheus exposition: a private prom-client Registry (never the global one) whose
 * metrics read the recorder's counts and the gauges at scrape time, so the request path
 * never touches prom-client except for the latency histogram.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly #latency: Histogram<'source' | 'backend'>;
  readonly #latencyChildren = new Map<string, ReturnType<Histogram<'source' | 'backend'>['labels']>>();
  readonly #gauges: GaugeSource;
  #readings: ReturnType<GaugeSource> | undefined;

  constructor(options: PrometheusOptions) {
    const { recorder, gauges } = options;
    this.#gauges = gauges;
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });

    for (const { name, help, field } of CELL_COUNTERS) {
      new Counter({
        name: METRIC_PREFIX + name,
        help,
        labelNames: CELL_LABELS,
        registers,
        collect() {
          this.reset();
          for (const cell of recorder.cells.values()) {
            const value = cell.counters[field];
            if (value > 0) this.inc(cell.labels, value);
          }
        },
      });
    }
    new Counter({
      name: `${METRIC_PREFIX}tokens_total`,
      help: 'Tokens sent to (direction="in") and received from (direction="out") backends: the answers\' usage, else estimated.',
      labelNames: [...CELL_LABELS, 'direction'],
      registers,
      collect() {
        this.reset();
        for (const cell of recorder.cells.values()) {
          if (cell.counters.tokensIn > 0) this.inc({ ...cell.labels, direction: 'in' }, cell.counters.tokensIn);
          if (cell.counters.tokensOut > 0) this.inc({ ...cell.labels, direction: 'out' }, cell.counters.tokensOut);
        }
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}tokens_saved_total`,
      help: 'Tokens (in + out) that cache hits and dedupe joins did not spend upstream.',
      labelNames: CELL_LABELS,
      registers,
      collect() {
        this.reset();
        for (const cell of recorder.cells.values()) if (cell.counters.tokensSaved > 0) this.inc(cell.labels, cell.counters.tokensSaved);
      },
    });
    pairCounter(registers, 'upstream_errors_total', 'Failed upstream attempts by backend and error code (every retry and failover attempt counts).', ['backend', 'code'], recorder.upstreamErrors);
    pairCounter(registers, 'request_errors_by_code_total', 'Requests answered with an error, by backend (none = never routed) and error code.', ['backend', 'code'], recorder.requestErrors);
    pairCounter(registers, 'failovers_total', 'Requests moved from one backend to the next candidate after a failure.', ['backend', 'to'], recorder.failovers);
    pairCounter(registers, 'breaker_transitions_total', 'Circuit breaker transitions, by backend and the state entered (open, half_opened, closed).', ['backend', 'state'], recorder.breakerTransitions);
    pairCounter(registers, 'actor_restarts_total', 'Actor restarts by supervisor and child (session actors counted as child="session").', ['supervisor', 'child'], recorder.restarts);
    new Counter({
      name: `${METRIC_PREFIX}dlq_enqueued_total`,
      help: 'Requests that exhausted every backend and were kept in the dead-letter queue.',
      registers,
      collect() {
        this.reset();
        if (recorder.dlqEnqueued > 0) this.inc(recorder.dlqEnqueued);
      },
    });

    this.#latency = new Histogram({
      name: `${METRIC_PREFIX}request_duration_seconds`,
      help: 'Time from a request entering the gateway to its answer being complete (the last chunk of a stream), for answered requests, by source (cache, dedupe, upstream) and backend.',
      labelNames: ['source', 'backend'],
      buckets: [...LATENCY_BOUNDS_SECONDS],
      registers,
    });

    // Gauges: read once per scrape (in `text`), shared by all of them.
    const read = () => this.#readings ?? gauges();
    const simpleGauge = (name: string, help: string, pick: (r: ReturnType<GaugeSource>) => number) =>
      new Gauge({
        name: METRIC_PREFIX + name,
        help,
        registers,
        collect() {
          this.set(pick(read()));
        },
      });
    simpleGauge('queue_depth', 'Requests waiting in the rate limiter\'s queues now.', (r) => r.queueDepth);
    simpleGauge('sessions', 'Live agent session actors.', (r) => r.sessions);
    simpleGauge('in_flight', 'Requests being answered now.', (r) => r.inFlight);
    simpleGauge('dlq_size', 'Entries in the dead-letter queue.', (r) => r.dlqSize);
    simpleGauge('cache_entries', 'Answers in the response cache (evicted past cache.maxEntries).', (r) => r.cacheEntries);
    let evictedSeen = 0;
    new Counter({
      name: `${METRIC_PREFIX}cache_evicted_total`,
      help: 'Records the response cache evicted (a generation at a time, at cache.maxEntries) since the process started.',
      registers,
      collect() {
        const evicted = read().cacheEvicted;
        if (evicted > evictedSeen) this.inc(evicted - evictedSeen);
        evictedSeen = evicted;
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}breaker_state`,
      help: 'Circuit breaker state per backend: 0 closed, 1 half-open, 2 open (absent while the backend is disabled or restarting).',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const { backend, state } of read().breakers) this.set({ backend }, BREAKER_STATE_VALUE[state]);
      },
    });
  }

  /** Records one answered request's latency (the only prom-client call on the request path). */
  observeLatency(source: LatencySource, backend: string, ms: number): void {
    // The labelled child, kept: prom-client would hash the label object on every observation.
    const key = source + '\u001f' + backend;
    let child = this.#latencyChildren.get(key);
    if (child === undefined) this.#latencyChildren.set(key, (child = this.#latency.labels(source, backend)));
    child.observe(ms / 1000);
  }

  /** The text exposition format. */
  async text(): Promise<string> {
    this.#readings = this.#gauges();
    try {
      return await this.registry.metrics();
    } finally {
      this.#readings = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function pairCounter(registers: Registry[], name: string, help: string, labelNames: [string, string], counts: ReadonlyMap<string, number>): void {
  new Counter({
    name: METRIC_PREFIX + name,
    help,
    labelNames,
    registers,
    collect() {
      this.reset();
      for (const [key, value] of counts) {
        const [a, b] = MetricsRecorder.split(key);
        this.inc({ [labelNames[0]]: a, [labelNames[1]]: b }, value);
      }
    },
  });
}
