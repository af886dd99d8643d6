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
 * Request bodies of at least this many bytes are keyed in the worker pool. Set from
 * bench/hash-crossover.bench.ts on the 2-core machine (Node 20.20): inline key + token estimate
 * costs the main thread ≈ 1.2 µs/KB; a pool round trip costs it ≈ 21 µs plus ≈ 0.05 µs/KB
 * (the text copy). They cross at ≈ 20 KB; 32 KB leaves a margin for the latency the round trip
 * adds (≈ 70–90 µs at that size).
 */
export const POOL_HASH_THRESHOLD_BYTES = 32 * 1024;

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
