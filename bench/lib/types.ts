/** Shapes shared by the pass-through suite (bench/run.ts) and its report (bench/lib/report.ts). */
import type { LoadResult } from './load.js';

/** The columns: the upstream called directly, the bare proxy baseline, the optimizer. */
export type TargetId = 'direct' | 'proxy' | 'optimizer';

export const TARGET_LABELS: Readonly<Record<TargetId, string>> = {
  direct: 'direct upstream',
  proxy: 'bare proxy',
  optimizer: 'optimizer',
};

export interface Settings {
  /** Measured seconds per cell. */
  durationS: number;
  /** Unmeasured seconds before each cell. */
  warmupS: number;
  /** Each cell is measured this many times (targets interleaved); the table shows medians. */
  rounds: number;
  concurrency: number[];
  streamConcurrency: number[];
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
  /** VmHWM (peak RSS over the process's life) at the end of the cell, KiB. */
  hwmKiB: number;
  samples: number;
}

export interface CellResult extends LoadResult {
  /** Memory of the server under test during the cell. */
  rss: RssStats | undefined;
  /** CPU used by processes outside the benchmark during the cell, % of one core (noise indicator). */
  foreignCpuPct: number | undefined;
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
