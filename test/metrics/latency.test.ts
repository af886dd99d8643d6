import { describe, expect, it } from 'vitest';
import { bucketIndex, emptyBuckets, LATENCY_BOUNDS_MS, quantile, summarize } from '../../src/metrics/latency.js';

function bucketsOf(samples: number[]): number[] {
  const buckets = emptyBuckets();
  for (const ms of samples) buckets[bucketIndex(ms)]!++;
  return buckets;
}

describe('latency buckets', () => {
  it('puts a sample in the first bucket whose bound is at least it (bounds inclusive)', () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(1)).toBe(0);
    expect(bucketIndex(1.01)).toBe(1);
    expect(bucketIndex(100)).toBe(LATENCY_BOUNDS_MS.indexOf(100));
    expect(bucketIndex(10_000_000)).toBe(LATENCY_BOUNDS_MS.length); // +Inf
  });

  it('interpolates quantiles inside the bucket, as histogram_quantile does', () => {
    // 100 samples in (50, 100]: the median is halfway through that bucket.
    const buckets = bucketsOf(Array.from({ length: 100 }, () => 80));
    expect(quantile(buckets, 0.5)).toBe(75);
    expect(quantile(buckets, 1)).toBe(100);
  });

  it('separates a fast majority from a slow tail', () => {
    const samples = [...Array.from({ length: 95 }, () => 3), ...Array.from({ length: 5 }, () => 2_000)];
    const summary = summarize(bucketsOf(samples));
    expect(summary.count).toBe(100);
    expect(summary.p50).toBeGreaterThan(2.5);
    expect(summary.p50).toBeLessThanOrEqual(5);
    expect(summary.p95).toBeLessThanOrEqual(5);
    expect(summary.p99).toBeGreaterThan(1_000);
    expect(summary.p99).toBeLessThanOrEqual(2_500);
  });

  it('is 0 with no samples, and the last finite bound in the +Inf bucket', () => {
    expect(summarize(emptyBuckets())).toEqual({ p50: 0, p95: 0, p99: 0, count: 0 });
    expect(quantile(bucketsOf([1e9]), 0.5)).toBe(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]);
  });
});
