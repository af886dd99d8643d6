import { fromCallback } from 'xstate';
import { openStore } from '../src/store/open-store.js';
import { createWorkerPool } from '../src/workers/pool.js';
import type { Runtime } from './runtime.js';

/**
 * The store actor owns the LMDB environment and the Piscina worker pool that shares it
 * (the workers open the same environment for hashing large requests and cache reads):
 * both start with the actor and close, flushing pending writes (the response cache's too), when it stops. A failure
 * to open them crashes the actor, and the supervisor decides what happens next.
 */
export const storeActor = fromCallback<{ type: string }, { runtime: Runtime }>(({ input }) => {
  const { runtime } = input;
  const db = openStore(runtime.config.store);
  const pool = createWorkerPool({
    storePath: runtime.config.store.path,
    mapSizeBytes: runtime.config.store.mapSizeBytes,
    syncEachCommit: runtime.config.store.syncEachCommit,
  });
  runtime.store = db;
  runtime.pool = pool;
  // The cache's key filter is built from the stored keys now, before the front door takes requests.
  runtime.cache.open();
  return () => {
    if (runtime.store === db) {
      // Writes the cache still holds go to LMDB before it closes (close waits for them).
      void runtime.cache.flush();
      runtime.store = undefined;
    }
    if (runtime.pool === pool) runtime.pool = undefined;
    runtime.closing = Promise.all([pool.close(), db.close()]).then(
      () => undefined,
      (error: unknown) => runtime.logger.error({ err: error }, 'closing the store failed'),
    );
  };
});
