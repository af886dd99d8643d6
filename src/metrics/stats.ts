import { addBuckets, emptyBuckets, LATENCY_SOURCES, summarize, type LatencySource, type LatencySummary } from './latency.js';
import type { Breakdown, Counters } from './counters.js';
import type { GaugeReadings } from './gauges.js';
import type { LifetimeRollup, MinuteRollup } from './rollup.js';

/** Minutes in the `timeline` of /admin/stats. */
export const TIMELINE_MINUTES = 60;
/** Minutes the latency percentiles of /admin/stats are computed over. */
export const LATENCY_WINDOW_MINUTES = 5;

/** The `GET /admin/stats` answer (docs/observability.md, "Stats API"): fields may be added, never renamed. */
export interface StatsReport {
  /** When this process started, ms since the epoch. */
  startedAt: number;
  now: number;
  /** When the counting in this data directory began (the totals cover everything since). */
  since: number;
  totals: Counters;
  byAgent: Breakdown;
  byBackend: Breakdown;
  byModel: Breakdown;
  /** The last TIMELINE_MINUTES minutes, oldest first (zeros for a minute without traffic). */
  timeline: ({ minute: number } & Counters)[];
  gauges: { queueDepth: number; sessions: number; inFlight: number; dlqSize: number; cacheEntries: number };
  breakers: GaugeReadings['breakers'];
  /** Percentiles over the last LATENCY_WINDOW_MINUTES minutes, in ms (0 with `count` 0 when there was no answer). */
  latency: Record<LatencySource, LatencySummary>;
  latencyWindowMinutes: number;
}

export function buildStats(input: {
  startedAt: number;
  now: number;
  lifetime: LifetimeRollup;
  timeline: readonly MinuteRollup[];
  gauges: GaugeReadings;
}): StatsReport {
  const { lifetime, timeline, gauges } = input;
  const recent = timeline.slice(-LATENCY_WINDOW_MINUTES);
  const latency = {} as Record<LatencySource, LatencySummary>;
  for (const source of LATENCY_SOURCES) {
    const buckets = emptyBuckets();
    for (const minute of recent) addBuckets(buckets, minute.latency[source]);
    latency[source] = summarize(buckets);
  }
  return {
    startedAt: input.startedAt,
    now: input.now,
    since: lifetime.since,
    totals: lifetime.totals,
    byAgent: lifetime.byAgent,
    byBackend: lifetime.byBackend,
    byModel: lifetime.byModel,
    timeline: timeline.map((m) => ({ minute: m.minute, ...m.totals })),
    gauges: { queueDepth: gauges.queueDepth, sessions: gauges.sessions, inFlight: gauges.inFlight, dlqSize: gauges.dlqSize, cacheEntries: gauges.cacheEntries },
    breakers: gauges.breakers,
    latency,
    latencyWindowMinutes: LATENCY_WINDOW_MINUTES,
  };
}
