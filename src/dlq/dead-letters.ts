import type { Database, RootDatabase } from 'lmdb';
import { isDeadLetterId, monotonicIdSource, type DeadLetterIdSource } from './dead-letter-id.js';
import {
  DEAD_LETTER_VERSION,
  DLQ_DB_NAME,
  type DeadLetter,
  type DeadLetterPage,
  type DeadLetterReplay,
  type NewDeadLetter,
} from './types.js';

/** Default page size of `list`. */
export const DLQ_LIST_DEFAULT_LIMIT = 50;
/** Largest page `list` returns: an entry holds a whole request (tens of KB for some agents). */
export const DLQ_LIST_MAX_LIMIT = 500;
/** Replays kept per entry (the most recent), so an entry replayed in a loop stays bounded. */
export const DLQ_MAX_REPLAYS_KEPT = 100;

/**
 * The dead-letter queue cannot serve the call: the store is down (restarting) or the write
 * failed. `code` is stable: the integrator answers it as 503 (`DLQ_UNAVAILABLE`); for `add`,
 * the message says the request could not be stored, so the caller knows it was lost.
 */
export class DeadLetterStoreError extends Error {
  readonly code = 'DLQ_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeadLetterStoreError';
  }
}

export interface DeadLettersOptions {
  /** Clock, in ms since the epoch (default `Date.now`). */
  now?: () => number;
  /** Id source (default: monotonic ULIDs, `dlq_…`). */
  newId?: DeadLetterIdSource;
}

export interface DeadLetterListOptions {
  /** 1 … DLQ_LIST_MAX_LIMIT, default DLQ_LIST_DEFAULT_LIMIT. */
  limit?: number;
  /** Cursor: the `next` of the previous page; entries older than this id. */
  before?: string;
}

interface Databases {
  root: RootDatabase;
  entries: Database<DeadLetter, string>;
}

type Syncable = { sync(callback: (error?: unknown) => void): void };

/**
 * The dead-letter queue, in the LMDB environment the store actor owns (named database
 * `dlq`). Unlike the cache, every write here is durable before its promise resolves:
 * committed by lmdb-js's write thread AND flushed to disk (see `#durably`), because the
 * caller is told "stored as <id>" only after `add` resolves. Reads are synchronous.
 *
 * When the store is down (the store actor restarting) every method throws (or rejects
 * with) a DeadLetterStoreError rather than pretending the queue is empty: an admin should
 * see 503, not "no dead letters", and a caller must not be told its request was kept.
 */
export class DeadLetters {
  #dbs: Databases | undefined;
  readonly #now: () => number;
  readonly #newId: DeadLetterIdSource;

  constructor(
    private readonly store: () => RootDatabase | undefined,
    options: DeadLettersOptions = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#newId = options.newId ?? monotonicIdSource();
  }

  /** Whether the store is up (reads and writes can be attempted). */
  get available(): boolean {
    return this.store() !== undefined;
  }

  /**
   * Stores a request that exhausted every candidate. Resolves with the stored entry once
   * it is committed and synced to disk; rejects with a DeadLetterStoreError when the store
   * is down or the write fails (then nothing may be claimed stored).
   */
  async add(entry: NewDeadLetter): Promise<DeadLetter> {
    const dbs = this.#open('store the request');
    const at = this.#now();
    const stored: DeadLetter = {
      v: DEAD_LETTER_VERSION,
      id: this.#newId(at),
      at,
      agentId: entry.agentId,
      tenant: entry.tenant,
      endpoint: entry.endpoint,
      body: entry.body,
      hints: entry.hints,
      stream: entry.stream,
      reason: entry.reason,
      attempts: entry.attempts,
      replays: [],
    };
    await this.#durably(dbs, 'store the request', () => dbs.entries.put(stored.id, stored));
    return stored;
  }

  /** The entry with this id, if any (a string that is not an id finds nothing). */
  get(id: string): DeadLetter | undefined {
    const { entries } = this.#open('read the entry');
    return isDeadLetterId(id) ? entries.get(id) : undefined;
  }

  /** A page of entries, newest first; pass `next` back as `before` for the next page. */
  list(options: DeadLetterListOptions = {}): DeadLetterPage {
    const { limit = DLQ_LIST_DEFAULT_LIMIT, before } = options;
    if (!Number.isInteger(limit) || limit < 1 || limit > DLQ_LIST_MAX_LIMIT) {
      throw new RangeError(`list: limit must be an integer from 1 to ${DLQ_LIST_MAX_LIMIT}, got ${limit}`);
    }
    if (before !== undefined && !isDeadLetterId(before)) throw new RangeError(`list: before must be a dead-letter id, got ${JSON.stringify(before)}`);
    const { entries: db } = this.#open('list the entries');
    const range =
      before === undefined
        ? db.getRange({ reverse: true, limit: limit + 1 })
        : db.getRange({ reverse: true, start: before, exclusiveStart: true, limit: limit + 1 });
    const entries: DeadLetter[] = [];
    let more = false;
    for (const { value } of range) {
      if (entries.length === limit) {
        more = true;
        break;
      }
      entries.push(value);
    }
    const last = entries[entries.length - 1];
    return more && last ? { entries, next: last.id } : { entries };
  }

  /** Deletes the entry; resolves true if it existed, once the deletion is durable. */
  async remove(id: string): Promise<boolean> {
    const dbs = this.#open('delete the entry');
    if (!isDeadLetterId(id)) return false;
    const { entries: db } = dbs;
    // lmdb-js resolves an unconditional remove with true whether or not the key existed.
    return this.#durably(dbs, 'delete the entry', () =>
      db.transaction(() => {
        if (db.get(id) === undefined) return false;
        void db.remove(id);
        return true;
      }),
    );
  }

  /**
   * Appends a replay's outcome to the entry (read and written in one transaction, so
   * concurrent replays are all kept). Resolves with the updated entry, or undefined when
   * there is no such entry (deleted meanwhile).
   */
  async recordReplay(id: string, replay: DeadLetterReplay): Promise<DeadLetter | undefined> {
    const dbs = this.#open('record the replay');
    if (!isDeadLetterId(id)) return undefined;
    const { entries: db } = dbs;
    return this.#durably(dbs, 'record the replay', () =>
      db.transaction(() => {
        const entry = db.get(id);
        if (!entry) return undefined;
        const replays = [...entry.replays, { at: replay.at, outcome: replay.outcome, requestId: replay.requestId }];
        const updated: DeadLetter = { ...entry, replays: replays.slice(-DLQ_MAX_REPLAYS_KEPT) };
        void db.put(id, updated);
        return updated;
      }),
    );
  }

  /** Entries stored (committed). */
  count(): number {
    return (this.#open('count the entries').entries.getStats() as { entryCount: number }).entryCount;
  }

  /**
   * Runs one write and resolves once it is committed and on disk.
   *
   * lmdb-js (3.x) resolves a write's promise when its transaction is *committed* (visible);
   * with `overlappingSync` (its default off Windows, and how openStore opens the env) the
   * fsync happens after that, and `db.flushed` is the promise for it. `flushed` is read
   * lazily (it stands for the latest batch at the time `.then` is called), so it is taken
   * in the same tick as the write, before another batch can start. An env opened with
   * `noSync` has no flush at all (`flushed` is then just the commit): there the env is
   * synced explicitly (`mdb_env_sync(force)`), so the queue stays durable whatever the
   * cache's settings.
   */
  async #durably<T>(dbs: Databases, action: string, write: () => Promise<T>): Promise<T> {
    let committed: Promise<T>;
    let flushed: Promise<unknown>;
    try {
      committed = write();
      flushed = new Promise((resolve, reject) => {
        dbs.entries.flushed.then(resolve, reject);
      });
    } catch (error) {
      throw this.#failed(action, error);
    }
    try {
      const result = await committed;
      await flushed;
      if ((dbs.root as { overlappingSync?: unknown }).overlappingSync !== true) await syncEnv(dbs.root);
      return result;
    } catch (error) {
      throw this.#failed(action, error);
    }
  }

  #failed(action: string, error: unknown): DeadLetterStoreError {
    const reason = error instanceof Error ? error.message : String(error);
    return new DeadLetterStoreError(`The dead-letter queue could not ${action}: the write failed (${reason})`, { cause: error });
  }

  #open(action: string): Databases {
    const root = this.store();
    if (!root) throw new DeadLetterStoreError(`The dead-letter queue could not ${action}: the store is down (restarting)`);
    // A write queued on a closing env is not rejected by lmdb-js: it throws later, uncaught,
    // from its commit timer (crashing the process), and its promise never settles.
    const status = (root as { status?: unknown }).status;
    if (status === 'closing' || status === 'closed') {
      throw new DeadLetterStoreError(`The dead-letter queue could not ${action}: the store is ${status} (restarting)`);
    }
    if (this.#dbs?.root === root) return this.#dbs;
    try {
      const entries = root.openDB<DeadLetter, string>({ name: DLQ_DB_NAME, encoding: 'msgpack' });
      this.#dbs = { root, entries };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DeadLetterStoreError(`The dead-letter queue could not ${action}: its database cannot be opened (${reason})`, { cause: error });
    }
    return this.#dbs;
  }
}

/** Forces the environment to disk (mdb_env_sync with force), on lmdb-js's worker thread. */
function syncEnv(root: RootDatabase): Promise<void> {
  return new Promise((resolve, reject) => {
    (root as unknown as Syncable).sync((error) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()));
  });
}
