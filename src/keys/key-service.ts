/**
 * Keys a request inline or in the worker pool, whichever costs the main thread less: below
 * `POOL_HASH_THRESHOLD_BYTES` canonicalising and hashing inline is cheaper than a Piscina round
 * trip; above it the worker does the parse, canonical JSON, sha256 and token estimate while the
 * main thread serves other requests.
 */
import type { HashResult, WorkerPool } from '../workers/pool.js';
import { requestKey, type RequestKeyInput } from './request-key.js';
import { estimateTokens } from './tokens.js';

/**
 * Request bodies of at least this many bytes are keyed in the worker pool. Measured with
 * bench/hash-crossover.bench.ts (bench/RESULTS.md) on the 2-core VM, Node 20.20, realistic agent
 * bodies: keying inline (canonical JSON + sha256 + token estimate) costs the main thread
 * ≈ 3.7 µs per KB; a pool round trip costs it ≈ 23–36 µs + 0.3 µs per KB. The fitted lines
 * cross at 6–8 KB; 16 KB is the smallest measured size at which the pool cost the main thread
 * less in every run (≈ 27 vs 56 µs), and below it the few µs saved would not pay for the
 * ≈ 50 µs of latency a round trip adds to the request.
 */
export const POOL_HASH_THRESHOLD_BYTES = 16 * 1024;

export interface ComputeRequestKeyOptions {
  /** The body's JSON text as received, unmodified (its own `model` may differ). Without it the key is computed inline. */
  text?: string;
  /** The body's size in bytes (e.g. the HTTP body's byteLength); default `text.length`. */
  bytes?: number;
  /** Without a pool the key is computed inline. */
  pool?: WorkerPool;
  /** Default POOL_HASH_THRESHOLD_BYTES. */
  thresholdBytes?: number;
  /**
   * Called when the pool fails (closed while draining, a worker died); the key is then computed
   * inline, which gives the same key.
   */
  onPoolError?: (error: unknown) => void;
}

/** The request key and token estimate, computed on this thread. */
export function computeRequestKeyInline(input: RequestKeyInput): HashResult {
  return { key: requestKey(input), tokens: estimateTokens(input.body) };
}

/**
 * The request key and prompt-token estimate of `input`: in the pool when a pool and the body's
 * text are given and the body has at least `thresholdBytes` bytes, inline otherwise. Both paths
 * give the same result for the same body.
 */
export async function computeRequestKey(input: RequestKeyInput, options: ComputeRequestKeyOptions = {}): Promise<HashResult> {
  const { text, pool } = options;
  if (text === undefined || pool === undefined) return computeRequestKeyInline(input);
  const bytes = options.bytes ?? text.length;
  if (bytes < (options.thresholdBytes ?? POOL_HASH_THRESHOLD_BYTES)) return computeRequestKeyInline(input);
  try {
    return await pool.hashRequest(text, { endpoint: input.endpoint, model: input.model, tenant: input.tenant });
  } catch (error) {
    options.onPoolError?.(error);
    return computeRequestKeyInline(input);
  }
}
