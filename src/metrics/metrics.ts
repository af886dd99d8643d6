import type { RootDatabase } from 'lmdb';
import type { OptimizerConfig } from '../config/types.js';
import type { RoutingTable } from '../routing/table.js';
import type { EventBus } from '../telemetry/event-bus.js';
import { NO_GAUGES, type GaugeSource } from './gauges.js';
import { MetricLabels } from './labels.js';
import { PrometheusMetrics } from './prometheus.js';
import { MetricsRecorder, RECORDED_TOPICS, type CostFunction } from './recorder.js';
import { RollupBook } from './rollup-book.js';
import { RollupStore } from './rollup-store.js';
import { buildStats, TIMELINE_MINUTES, type StatsReport } from './stats.js';

export interface MetricsOptions {
  config: Pick<OptimizerConfig, 'metrics' | 'agents'>;
  /** The routing table, or a getter for the one in force (discovery replaces it). */
  table: RoutingTable | (() => RoutingTable);
  /** The LMDB environment while the store actor runs. */
  store: () => RootDatabase | undefined;
  /** When this process started (ms since the epoch). */
  startedAt: number;
  /**
   * What an upstream call costs in USD (the provider catalog's price function). Without it,
   * every cost and cost saved is 0 (the metrics' help says so).
   */
  cost?: CostFunction | undefined;
  /** Gauges read at scrape time (the optimizer wires the limiter, sessions, DLQ, breakers). */
  gauges?: GaugeSource;
  /** Wall clock (tests inject one). */
  now?: () => number;
  /** Include Node's process metrics in /metrics. Default true. */
  processMetrics?: boolean;
}

/**
 * The metrics of one optimizer: a recorder fed by the event bus, the per-minute roll-ups
 * in LMDB, the Prometheus registry and the stats report. It outlives restarts of the
 * telemetry actor, which attaches it to the bus while it runs.
 */
export class Metrics {
  readonly recorder: MetricsRecorder;
  readonly prometheus: PrometheusMetrics;
  readonly book: RollupBook;
  readonly labels: MetricLabels;
  readonly #now: () => number;
  #gauges: GaugeSource;
  #attached = 0;

  constructor(private readonly options: MetricsOptions) {
    const { config } = options;
    const source = options.table;
    const table = typeof source === 'function' ? source : () => source;
    this.#now = options.now ?? Date.now;
    this.#gauges = options.gauges ?? NO_GAUGES;
    this.labels = new MetricLabels({ configuredAgents: config.agents.map((a) => a.id), maxAgentLabels: config.metrics.maxAgentLabels, table });
    this.book = new RollupBook(new RollupStore(options.store), { retentionMs: config.metrics.retentionMs });
    this.recorder = new MetricsRecorder({
      labels: this.labels,
      book: this.book,
      providerModel: (name) => table().byName.get(name)?.model,
      cost: options.cost,
      onLatency: (source, backend, ms) => this.prometheus.observeLatency(source, backend, ms),
    });
    this.prometheus = new PrometheusMetrics({ recorder: this.recorder, gauges: () => this.#gauges(), processMetrics: options.processMetrics ?? true });
  }

  /** Where the gauges are read from (set once the tree runs). */
  set gauges(source: GaugeSource) {
    this.#gauges = source;
  }

  /**
   * Subscribes to the bus and starts writing the roll-ups every `flushIntervalMs`. Returns
   * the detach function, which unsubscribes and writes what is pending.
   */
  attach(bus: EventBus): () => void {
    if (this.#attached++ === 0) this.labels.remember(this.book.storedAgents());
    const unsubscribe = RECORDED_TOPICS.map((topic) => bus.subscribe(topic, (event) => this.recorder.record(event)));
    const timer = setInterval(() => void this.flush(), this.options.config.metrics.flushIntervalMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      for (const stop of unsubscribe) stop();
      void this.flush();
    };
  }

  /** Writes the changed roll-ups now; resolves with false when the store is down. */
  flush(): Promise<boolean> {
    return this.book.flush(this.#now()).catch(() => false);
  }

  stats(): StatsReport {
    const now = this.#now();
    return buildStats({
      startedAt: this.options.startedAt,
      now,
      lifetime: this.book.currentLifetime(now),
      timeline: this.book.timeline(now, TIMELINE_MINUTES),
      gauges: this.#gauges(),
    });
  }

  /** The Prometheus text exposition. */
  prometheusText(): Promise<string> {
    return this.prometheus.text();
  }
}
