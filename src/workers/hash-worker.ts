/**
 * The Piscina worker behind `createWorkerPool` (pool.ts). Runs compiled (dist/src/workers/
 * hash-worker.js): Node 20 cannot load TypeScript in a worker thread.
 *
 * - `hashRequest`: parse + canonicalise + sha256 + token estimate of a large request, so the main
 *   thread pays only the round trip.
 * - `lookup`: a cache read from the same LMDB environment the main thread uses (lmdb-js shares one
 *   environment per path within the process).
 */
import { workerData } from 'node:worker_threads';
import type { Database, RootDatabase } from 'lmdb';
import type { CacheEntry } from '../cache/types.js';
import { requestKey } from '../keys/request-key.js';
import { estimateTokens } from '../keys/tokens.js';
import { openStore } from '../store/open-store.js';
import { parseRecordKey } from '../cache/record-key.js';
import { openGenerationDbs, slotOf, storedGenerations, unexpired } from './cache-db.js';
import type { HashResult, HashTask, HashWorkerData, LookupTask } from './tasks.js';

const data = workerData as HashWorkerData;

let root: RootDatabase | undefined;
/** The ring's dbs once they exist (the main thread creates them when its cache opens the store). */
let slots: (Database<CacheEntry, string> | undefined)[] | undefined;

/** Opened on the first lookup, so a pool used only for hashing never touches the store. */
function store(): RootDatabase {
  root ??= openStore({ path: data.storePath, mapSizeBytes: data.mapSizeBytes, syncEachCommit: data.syncEachCommit });
  return root;
}

/** The db of the generation that holds record `seq`, if it is still stored. */
function generationDb(seq: number): Database<CacheEntry, string> | undefined {
  if (slots === undefined || slots.includes(undefined)) slots = openGenerationDbs(store(), false);
  const slot = slotOf(storedGenerations(slots), seq);
  return slot === undefined ? undefined : slots[slot];
}

export function hashRequest(task: HashTask): HashResult {
  const body: unknown = JSON.parse(task.text);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TypeError('hashRequest: the request body is not a JSON object');
  }
  const record = body as Record<string, unknown>;
  return {
    key: requestKey({ endpoint: task.endpoint, body: record, model: task.model, tenant: task.tenant }),
    tokens: estimateTokens(record),
  };
}

export function lookup(task: LookupTask): CacheEntry | undefined {
  const parsed = parseRecordKey(task.key);
  if (parsed === undefined) return undefined;
  // lmdb-js renews a thread's read snapshot on a setTimeout(0); Piscina runs tasks back to back
  // (Atomics.wait between them) without letting timers run, so renew it by hand, or a worker
  // would keep reading the snapshot of its first lookup and miss every later commit.
  store().resetReadTxn();
  return unexpired(generationDb(parsed[0])?.get(task.key), task.now);
}
