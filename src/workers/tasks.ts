/** What crosses the thread boundary between the pool (main thread) and the hash worker. */
import type { Endpoint } from '../gateway/types.js';

/** Passed once to every worker (Piscina `workerData`). */
export interface HashWorkerData {
  storePath: string;
  mapSizeBytes: number;
  syncEachCommit: boolean;
}

/**
 * A request to key. The body travels as its JSON text: a string is copied across threads in one
 * block, where a parsed object would be structured-cloned member by member.
 */
export interface HashTask {
  text: string;
  endpoint: Endpoint;
  model: string;
  tenant: string | undefined;
}

export interface HashResult {
  /** The request key (`requestKey`). */
  key: string;
  /** The prompt-token estimate (`estimateTokens`). */
  tokens: number;
}

export interface LookupTask {
  /** A record key (src/cache/record-key.ts): the main thread's key index says which record holds a request key. */
  key: string;
  /** ms since the epoch, taken on the caller's clock; entries expiring at or before it are not returned. */
  now: number;
}
