/**
 * Latency buckets shared by the Prometheus histogram (in seconds) and the per-minute
 * roll-ups (in ms, from which `/admin/stats` computes p50/p95/p99).
 */

/** Upper bounds of the buckets, in ms; one more bucket (+Inf) follows the last. */
export const LATENCY_BOUNDS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000];

/** The same bounds in seconds, for the Prometheus histogram. */
export const LATENCY_BOUNDS_SECONDS: readonly number[] = LATENCY_BOUNDS_MS.map((ms) => ms / 1000);

/** Where an answer came from: `source` label of the latency histogram. */
export type LatencySource = 'cache' | 'dedupe' | 'upstream';
export const LATENCY_SOURCES: readonly LatencySource[] = ['cache', 'dedupe', 'upstream'];

/** Counts per bucket (not cumulative); length LATENCY_BOUNDS_MS.length + 1. */
export type BucketCounts = number[];

export function emptyBuckets(): BucketCounts {
  return new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
}

/** Index of the bucket `ms` falls in. */
export function bucketIndex(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/** Adds `from` into `into` (a shorter or missing array counts as zeros). */
export function addBuckets(into: BucketCounts, from: readonly number[] | undefined): BucketCounts {
  if (!from) return into;
  for (let i = 0; i < into.length && i < from.length; i++) into[i]! += from[i] ?? 0;
  return into;
}

/**
 * The `q`-quantile (0–1) of bucketed samples, interpolated linearly inside its bucket as
 * Prometheus's `histogram_quantile` does (the first bucket starts at 0; a quantile in the
 * +Inf bucket is the last finite bound). 0 when there are no samples.
 */
export function quantile(buckets: readonly number[], q: number): number {
  let total = 0;
  for (const n of buckets) total += n;
  if (total === 0) return 0;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (n > 0 && below + n >= rank) {
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i]!;
      return lower + (upper - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

/** p50/p95/p99 (ms, rounded to 0.1) and the sample count. */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

export function summarize(buckets: readonly number[]): LatencySummary {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  let count = 0;
  for (const n of buckets) count += n;
  return { p50: round(quantile(buckets, 0.5)), p95: round(quantile(buckets, 0.95)), p99: round(quantile(buckets, 0.99)), count };
}
