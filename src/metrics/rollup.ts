import { addBreakdown, addCounters, emptyBreakdown, zeroCounters, type Breakdown, type Counters } from './counters.js';
import { addBuckets, emptyBuckets, LATENCY_SOURCES, type BucketCounts, type LatencySource } from './latency.js';

/** Bumped when the stored shape changes incompatibly (older records are then skipped). */
export const ROLLUP_VERSION = 1;

/** One minute of counters, as stored in LMDB (msgpack) under the minute's start. */
export interface MinuteRollup {
  v: number;
  /** Start of the minute, ms since the epoch. */
  minute: number;
  totals: Counters;
  byAgent: Breakdown;
  byBackend: Breakdown;
  byModel: Breakdown;
  /** Latency bucket counts by source (bounds: LATENCY_BOUNDS_MS). */
  latency: Record<LatencySource, BucketCounts>;
}

/** Everything since the data directory began (never pruned). */
export interface LifetimeRollup {
  v: number;
  /** When the first counted event happened, ms since the epoch. */
  since: number;
  totals: Counters;
  byAgent: Breakdown;
  byBackend: Breakdown;
  byModel: Breakdown;
}

export const MINUTE_MS = 60_000;

/** Start of the minute holding `at`. */
export function minuteOf(at: number): number {
  return at - (((at % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

function emptyLatency(): Record<LatencySource, BucketCounts> {
  const latency = {} as Record<LatencySource, BucketCounts>;
  for (const source of LATENCY_SOURCES) latency[source] = emptyBuckets();
  return latency;
}

export function emptyMinute(minute: number): MinuteRollup {
  return { v: ROLLUP_VERSION, minute, totals: zeroCounters(), byAgent: emptyBreakdown(), byBackend: emptyBreakdown(), byModel: emptyBreakdown(), latency: emptyLatency() };
}

export function emptyLifetime(since: number): LifetimeRollup {
  return { v: ROLLUP_VERSION, since, totals: zeroCounters(), byAgent: emptyBreakdown(), byBackend: emptyBreakdown(), byModel: emptyBreakdown() };
}

/** Adds a stored minute into `into` (tolerates records missing fields). */
export function addMinute(into: MinuteRollup, from: Partial<MinuteRollup>): MinuteRollup {
  addCounters(into.totals, from.totals ?? {});
  addBreakdown(into.byAgent, from.byAgent ?? {});
  addBreakdown(into.byBackend, from.byBackend ?? {});
  addBreakdown(into.byModel, from.byModel ?? {});
  for (const source of LATENCY_SOURCES) addBuckets(into.latency[source], from.latency?.[source]);
  return into;
}

/** Adds a stored lifetime record into `into`; the earlier `since` wins. */
export function addLifetime(into: LifetimeRollup, from: Partial<LifetimeRollup>): LifetimeRollup {
  if (typeof from.since === 'number' && from.since < into.since) into.since = from.since;
  addCounters(into.totals, from.totals ?? {});
  addBreakdown(into.byAgent, from.byAgent ?? {});
  addBreakdown(into.byBackend, from.byBackend ?? {});
  addBreakdown(into.byModel, from.byModel ?? {});
  return into;
}
