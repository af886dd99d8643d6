/** Shapes shared by the pass-through suite (bench/run.ts) and its report (bench/lib/report.ts). */
import type { BodyMode, LoadResult } from './load.js';

/**
 * The columns: the upstream called directly, the bare proxy baseline, the optimizer with cache and
 * dedupe off (`optimizer`), the optimizer with cache, dedupe and limits on answering unique
 * deterministic requests, all cache misses (`features`), and the same configuration answering one
 * deterministic request over and over, all cache hits (`cache-hit`).
 */
export type TargetId = 'direct' | 'proxy' | 'optimizer' | 'features' | 'cache-hit';

/** Every target, in column order. */
export const TARGET_IDS: readonly TargetId[] = ['direct', 'proxy', 'optimizer', 'features', 'cache-hit'];

export const TARGET_LABELS: Readonly<Record<TargetId, string>> = {
  direct: 'direct upstream',
  proxy: 'bare proxy',
  optimizer: 'optimizer',
  features: 'optimizer (cache+dedupe+limits on)',
  'cache-hit': 'optimizer (cache hit)',
};

/** The request bodies each target gets (see `BodyMode` in bench/lib/load.ts). */
export const TARGET_BODIES: Readonly<Record<TargetId, BodyMode>> = {
  direct: 'unique',
  proxy: 'unique',
  optimizer: 'unique',
  features: 'unique-det',
  'cache-hit': 'fixed-det',
};

/** The optimizer variants: their servers run `dist/src/main.js` and report upstream calls on /admin/backends. */
export const isOptimizer = (id: TargetId): boolean => id === 'optimizer' || id === 'features' || id === 'cache-hit';

export interface Settings {
  /** Measured seconds per cell. */
  durationS: number;
  /** Unmeasured seconds before each cell. */
  warmupS: number;
  /** Each cell is measured this many times (targets interleaved); the table shows medians. */
  rounds: number;
  concurrency: number[];
  streamConcurrency: number[];
  /** Non-streaming concurrencies the `cache-hit` target is measured at (a subset of `concurrency`). */
  cacheHitConcurrency: number[];
  targets: TargetId[];
  loadgen: 'auto' | 'wrk' | 'builtin';
  pin: boolean;
  /** CPU list (taskset) for the server under test. */
  serverCpu: string;
  /** CPU list for the upstream, wrk and the bench process. */
  loadCpu: string;
  upstream: 'auto' | 'loopback' | 'stub';
  upstreamLatencyMs: number;
  /** 0: the upstream's default. */
  upstreamChunks: number;
  maxRequests: number;
  proxyConnections: number;
  optimizerScript: string;
  resultsDir: string;
}

export interface RssStats {
  /** Highest VmRSS sampled (every 100 ms) during the cell, KiB. */
  peakRssKiB: number;
  /** RssFile (file-backed pages: code, and the LMDB map of the cache) in the sample with the highest VmRSS, KiB. */
  peakFileKiB?: number | undefined;
  /** VmHWM (peak RSS over the process's life) at the end of the cell, KiB. */
  hwmKiB: number;
  samples: number;
}

export interface CellResult extends LoadResult {
  /** Memory of the server under test during the cell. */
  rss: RssStats | undefined;
  /** CPU used by processes outside the benchmark during the cell, % of one core (noise indicator). */
  foreignCpuPct: number | undefined;
  /**
   * Optimizer variants: calls the optimizer made to its backend during the measurement (the change
   * of `succeeded + failed` on /admin/backends); undefined for the others or when unreadable.
   */
  upstreamCalls?: number | undefined;
  /**
   * CPU time (user + system, all threads) the server under test used during the measurement, per
   * answered request, in µs. Steadier than req/s on a shared VM: a neighbour taking the core lowers
   * req/s but not the CPU each request costs. 10 ms tick resolution.
   */
  serverCpuUsPerRequest?: number | undefined;
  /** Rounds this result combines (medians when more than one). */
  rounds: number;
}

export interface TargetResult {
  id: TargetId;
  label: string;
  available: boolean;
  /** Why it was not measured. */
  note: string | undefined;
  pid: number | undefined;
  /** Keyed by `cellKey()`. */
  cells: Record<string, CellResult>;
}

/** `json-c50`, `stream-c1`. */
export const cellKey = (stream: boolean, c: number): string => `${stream ? 'stream' : 'json'}-c${c}`;
