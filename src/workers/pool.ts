/**
 * The Piscina pool for the CPU-heavy parts of the request path (DESIGN.md §1): keying large
 * requests, and cache reads from the shared LMDB environment.
 *
 * The worker runs from the compiled build, `dist/src/workers/hash-worker.js`, also while the
 * sources run under vitest (Node 20 cannot load TypeScript in a worker thread): `npm test` builds
 * first. Keys computed in a worker and inline are equal only while dist/ is built from the same
 * sources.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import type { CacheEntry } from '../cache/types.js';
import type { Endpoint } from '../gateway/types.js';
import type { HashResult, HashTask, HashWorkerData, LookupTask } from './tasks.js';

export type { HashResult } from './tasks.js';

/** Stable codes for what can go wrong with the pool itself (not with a request). */
export type WorkerPoolErrorCode = 'WORKER_SCRIPT_MISSING' | 'WORKER_POOL_CLOSED' | 'INVALID_WORKER_POOL_OPTION';

export class WorkerPoolError extends Error {
  constructor(
    readonly code: WorkerPoolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerPoolError';
  }
}

export interface WorkerPoolOptions {
  /** The LMDB environment's directory: the same `store.path` the main thread opened with openStore. */
  storePath: string;
  /** The same `store.mapSizeBytes` the main thread opened with. */
  mapSizeBytes: number;
  /** The same `store.syncEachCommit` (LMDB refuses a second opening with other sync flags). */
  syncEachCommit?: boolean;
  /** Most worker threads; default 1 on a 2-core machine (the main thread has the other core), at most 2. */
  threads?: number;
  /** A thread above the first one exits after this long without work. Default 30 s. */
  idleTimeoutMs?: number;
}

export interface HashRequestOptions {
  endpoint: Endpoint;
  /** The model after alias resolution. */
  model: string;
  tenant: string | undefined;
}

export interface WorkerPool {
  /**
   * Parses the request's JSON text, and returns its request key and token estimate, in a
   * worker. `text` must be the exact body the caller keys (the body's own `model` is ignored).
   * Rejects with a SyntaxError/TypeError when the text is not a JSON object, and with
   * WORKER_POOL_CLOSED after close().
   */
  hashRequest(text: string, options: HashRequestOptions): Promise<HashResult>;
  /**
   * The unexpired entry under record key `key` (src/cache/record-key.ts), read in a worker from the
   * cache generation that holds it (src/workers/cache-db.ts); undefined when absent, expired or evicted.
   */
  lookup(key: string): Promise<CacheEntry | undefined>;
  /** Lets running tasks finish, then stops the threads. Idempotent: later calls return the same promise. */
  close(): Promise<void>;
  /** The most threads the pool runs. */
  readonly maxThreads: number;
}

export const DEFAULT_WORKER_IDLE_TIMEOUT_MS = 30_000;

/** 1 thread on 2 cores, 2 from 3 cores: the main thread keeps a core of its own. */
export function defaultWorkerThreads(): number {
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

/**
 * The compiled worker script: the sibling `hash-worker.js` when this module runs compiled, else
 * `<package root>/dist/src/workers/hash-worker.js` (the package root being the nearest directory
 * above this file with a package.json).
 * @throws WorkerPoolError WORKER_SCRIPT_MISSING when it has not been built.
 */
export function resolveHashWorkerScript(moduleUrl: string = import.meta.url): string {
  const here = fileURLToPath(moduleUrl);
  const dir = dirname(here);
  if (here.endsWith('.js')) {
    const sibling = join(dir, 'hash-worker.js');
    if (existsSync(sibling)) return sibling;
  }
  const root = packageRoot(dir);
  const script = join(root ?? dir, 'dist', 'src', 'workers', 'hash-worker.js');
  if (!existsSync(script)) {
    throw new WorkerPoolError(
      'WORKER_SCRIPT_MISSING',
      `The hash worker ${script} does not exist: run "npm run build" first (worker threads run the compiled JavaScript; Node 20 cannot load TypeScript in a worker).`,
    );
  }
  return script;
}

function packageRoot(start: string): string | undefined {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Creates the pool (its thread starts with the first task). Options are checked here, synchronously.
 * @throws WorkerPoolError INVALID_WORKER_POOL_OPTION naming the option, or WORKER_SCRIPT_MISSING.
 */
export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { storePath, mapSizeBytes } = options;
  if (typeof storePath !== 'string' || storePath === '') invalid('storePath', 'a non-empty path', storePath);
  if (!Number.isSafeInteger(mapSizeBytes) || mapSizeBytes <= 0) invalid('mapSizeBytes', 'a positive integer', mapSizeBytes);
  const threads = options.threads ?? defaultWorkerThreads();
  if (!Number.isSafeInteger(threads) || threads < 1) invalid('threads', 'an integer ≥ 1', threads);
  const idleTimeout = options.idleTimeoutMs ?? DEFAULT_WORKER_IDLE_TIMEOUT_MS;
  if (!Number.isFinite(idleTimeout) || idleTimeout < 0) invalid('idleTimeoutMs', 'a number of ms ≥ 0', idleTimeout);

  const workerData: HashWorkerData = { storePath, mapSizeBytes, syncEachCommit: options.syncEachCommit === true };
  const filename = resolveHashWorkerScript();
  // Piscina itself is loaded with the first task too, so a process that never sees a large body
  // (the pass-through, the cache off) does not keep it: 0.25 MB less idle heap measured in the
  // optimizer (1 MB in an empty Node 20; the rest it shares with what the optimizer loads anyway).
  let piscina: Piscina | undefined;
  let starting: Promise<Piscina> | undefined;
  const start = (): Promise<Piscina> =>
    (starting ??= import('piscina').then(
      ({ Piscina }) =>
        (piscina = new Piscina({
          filename,
          minThreads: 0, // started on the first large body, gone after idleTimeout: ≈ 16 MiB of RSS saved while none comes (measured idle)
          maxThreads: threads,
          idleTimeout,
          workerData,
          // We read no histograms: spare the main thread the bookkeeping per task.
          recordTiming: false,
        })),
    ));
  const run = <T>(task: HashTask | LookupTask, name: string): Promise<T> =>
    (piscina ? piscina.run(task, { name }) : start().then((p) => p.run(task, { name }))) as Promise<T>;

  let closing: Promise<void> | undefined;
  const closed = (): Promise<never> =>
    Promise.reject(new WorkerPoolError('WORKER_POOL_CLOSED', 'The worker pool is closed.'));

  return {
    maxThreads: threads,
    hashRequest(text, { endpoint, model, tenant }) {
      if (closing !== undefined) return closed();
      const task: HashTask = { text, endpoint, model, tenant };
      return run<HashResult>(task, 'hashRequest');
    },
    lookup(key) {
      if (closing !== undefined) return closed();
      const task: LookupTask = { key, now: Date.now() };
      return run<CacheEntry | undefined>(task, 'lookup');
    },
    close() {
      closing ??= starting ? starting.then((p) => p.close()) : Promise.resolve();
      return closing;
    },
  };
}

function invalid(option: keyof WorkerPoolOptions, expected: string, got: unknown): never {
  throw new WorkerPoolError('INVALID_WORKER_POOL_OPTION', `createWorkerPool: ${option} must be ${expected}, got ${String(got)}.`);
}
