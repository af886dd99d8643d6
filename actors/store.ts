import { fromCallback } from 'xstate';
import { openStore } from '../src/store/open-store.js';
import type { Runtime } from './runtime.js';

/**
 * The store actor owns the LMDB environment: opened when it starts, closed (flushing
 * pending writes) when it stops. A failure to open it crashes the actor, and the
 * supervisor decides what happens next.
 */
export const storeActor = fromCallback<{ type: string }, { runtime: Runtime }>(({ input }) => {
  const { runtime } = input;
  const db = openStore(runtime.config.store);
  runtime.store = db;
  return () => {
    if (runtime.store === db) runtime.store = undefined;
    void db.close().catch((error: unknown) => runtime.logger.error({ err: error }, 'closing the store failed'));
  };
});
