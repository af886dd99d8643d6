/**
 * The built-in load generator: `concurrency` loops over one keep-alive undici `Pool`, each sending
 * the next request as soon as the previous one has been read to the end. Bounded by a duration and
 * a request count, so it always stops by itself. Latencies go into a preallocated array (no
 * allocation per sample), percentiles are read from it at the end.
 *
 * Used for streaming (time to first `data:` chunk, which wrk cannot see) and for everything when
 * wrk is not installed.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** Headers every benchmark request carries. */
export const BENCH_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  'x-agent-id': 'bench',
};

/** The model name the benchmark asks for (the optimizer's config routes `up/test-model`). */
export const BENCH_MODEL = 'up/test-model';

/**
 * What the request bodies of a run look like:
 * - `unique`: `"hello <nonce>-<n>"`, no temperature: no cache or dedupe could answer one;
 * - `unique-det`: the same with `"temperature":0`: deterministic, so cacheable, yet every one is a
 *   cache miss that goes upstream (and, with the cache on, writes the cache);
 * - `fixed-det`: `"hello <nonce>"` with `"temperature":0`, the same for every request: with the cache
 *   on, all but the first are cache hits.
 */
export type BodyMode = 'unique' | 'unique-det' | 'fixed-det';

/** A chat body (see {@link BodyMode}) for `model` (default the bench's); `n` is ignored for `fixed-det`. */
export function chatBody(nonce: string, n: number, stream: boolean, mode: BodyMode = 'unique', model = BENCH_MODEL): string {
  const content = mode === 'fixed-det' ? `hello ${nonce}` : `hello ${nonce}-${n}`;
  return (
    `{"model":"${model}","messages":[{"role":"user","content":"${content}"}]` +
    (mode === 'unique' ? '' : ',"temperature":0') +
    (stream ? ',"stream":true}' : '}')
  );
}

/** A latency sample store: preallocated, filled in order, percentiles on demand. */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private n = 0;

  constructor(capacity: number) {
    this.samples = new Float64Array(capacity);
  }

  get count(): number {
    return this.n;
  }

  get full(): boolean {
    return this.n >= this.samples.length;
  }

  /** Adds one sample in ms; ignored once full (the count bound stops the loops first). */
  record(ms: number): void {
    if (this.n < this.samples.length) this.samples[this.n++] = ms;
  }

  /** Percentiles (0..100) in ms, nearest-rank; NaN when empty. */
  percentiles(ps: readonly number[]): number[] {
    if (this.n === 0) return ps.map(() => Number.NaN);
    const sorted = this.samples.slice(0, this.n).sort();
    return ps.map((p) => {
      const rank = Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1));
      return sorted[rank] ?? Number.NaN;
    });
  }

  mean(): number {
    if (this.n === 0) return Number.NaN;
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += this.samples[i] ?? 0;
    return sum / this.n;
  }
}

export interface LoadOptions {
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  origin: string;
  /** Request path, e.g. `/v1/chat/completions`. */
  path: string;
  concurrency: number;
  durationMs: number;
  /** Stop after this many requests even if time remains (also the latency array's size). */
  maxRequests: number;
  stream: boolean;
  /** Distinguishes this run's bodies from every other run's. */
  nonce: string;
  /** What the bodies look like (default `unique`). */
  bodyMode?: BodyMode | undefined;
  /** Per-request bound on waiting for headers and between body chunks. */
  requestTimeoutMs?: number | undefined;
}

export interface LoadResult {
  generator: 'builtin' | 'wrk';
  concurrency: number;
  stream: boolean;
  durationS: number;
  requests: number;
  /** Requests that completed with a 2xx and (for streams) a `data:` chunk. */
  ok: number;
  /** Non-2xx answers, by status. */
  statuses: Record<string, number>;
  /** Socket errors, timeouts, streams without a `data:` chunk. */
  errors: number;
  firstError: string | undefined;
  rps: number;
  /** Whole-request latency (to the last body byte), ms. */
  latencyMs: Percentiles;
  /** Streams only: request start to the first body chunk that holds `data:`, ms. */
  ttfbMs: Percentiles | undefined;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** p50, p90, p99, max and mean of what `rec` holds. */
export function summarize(rec: LatencyRecorder): Percentiles {
  const [p50 = Number.NaN, p90 = Number.NaN, p99 = Number.NaN, max = Number.NaN] = rec.percentiles([
    50, 90, 99, 100,
  ]);
  return { p50, p90, p99, max, mean: rec.mean() };
}

const DATA_PREFIX = Buffer.from('data:');

/** Runs the load and returns what it measured. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const pool = new Pool(opts.origin, {
    connections: opts.concurrency,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 30_000,
  });
  const latency = new LatencyRecorder(opts.maxRequests);
  const ttfb = opts.stream ? new LatencyRecorder(opts.maxRequests) : undefined;
  const statuses: Record<string, number> = {};
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  let n = 0;
  const mode = opts.bodyMode ?? 'unique';
  const fixedBody = mode === 'fixed-det' ? chatBody(opts.nonce, 0, opts.stream, mode) : undefined;

  const started = performance.now();
  const deadline = started + opts.durationMs;

  const loop = async (): Promise<void> => {
    while (issued < opts.maxRequests && performance.now() < deadline) {
      issued++;
      const body = fixedBody ?? chatBody(opts.nonce, n++, opts.stream, mode);
      const t0 = performance.now();
      try {
        const res = await pool.request({
          method: 'POST',
          path: opts.path,
          headers: BENCH_HEADERS,
          body,
        });
        if (res.statusCode < 200 || res.statusCode >= 300) {
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          const text = await res.body.text();
          firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
          continue;
        }
        if (ttfb) {
          let first = -1;
          for await (const chunk of res.body) {
            if (first < 0 && (chunk as Buffer).includes(DATA_PREFIX)) first = performance.now() - t0;
          }
          if (first < 0) {
            errors++;
            firstError ??= 'stream ended without a data: chunk';
            continue;
          }
          ttfb.record(first);
        } else {
          await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
        }
        latency.record(performance.now() - t0);
        ok++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        // A refused connection would otherwise spin; back off a little.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };

  const loops: Promise<void>[] = [];
  for (let i = 0; i < opts.concurrency; i++) loops.push(loop());
  await Promise.all(loops);
  const elapsedMs = performance.now() - started;
  await pool.close();

  return {
    generator: 'builtin',
    concurrency: opts.concurrency,
    stream: opts.stream,
    durationS: elapsedMs / 1000,
    requests: issued,
    ok,
    statuses,
    errors,
    firstError,
    rps: ok / (elapsedMs / 1000),
    latencyMs: summarize(latency),
    ttfbMs: ttfb ? summarize(ttfb) : undefined,
  };
}
