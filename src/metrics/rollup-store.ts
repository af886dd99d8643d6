import type { Database, RootDatabase } from 'lmdb';
import { ROLLUP_VERSION, type LifetimeRollup, type MinuteRollup } from './rollup.js';

/** Named LMDB databases of the roll-ups (in the store actor's environment). */
export const MINUTES_DB_NAME = 'metrics-minutes';
export const LIFETIME_DB_NAME = 'metrics-lifetime';
const LIFETIME_KEY = 'lifetime';

interface Databases {
  root: RootDatabase;
  minutes: Database<MinuteRollup, number>;
  lifetime: Database<LifetimeRollup, string>;
}

/**
 * The per-minute roll-ups in LMDB: one msgpack record per minute, keyed by the minute's
 * start (ms), plus one lifetime record. Writes are whole records (idempotent overwrites,
 * batched by lmdb-js, not awaited: like the cache, they stay off the request path; losing
 * the last seconds to a power cut is acceptable for counters). Every method is a no-op
 * (or returns nothing) while the store is down, so the caller keeps its counts in memory.
 */
export class RollupStore {
  #dbs: Databases | undefined;

  constructor(private readonly store: () => RootDatabase | undefined) {}

  get available(): boolean {
    return this.store() !== undefined;
  }

  /** The stored minute, if any (and of a version this code reads). */
  minute(minute: number): MinuteRollup | undefined {
    const record = this.#open()?.minutes.get(minute);
    return record?.v === ROLLUP_VERSION ? record : undefined;
  }

  /** Stored minutes in [from, to], oldest first. */
  *minutes(from: number, to: number): Iterable<MinuteRollup> {
    const dbs = this.#open();
    if (!dbs) return;
    for (const { value } of dbs.minutes.getRange({ start: from, end: to + 1 })) if (value?.v === ROLLUP_VERSION) yield value;
  }

  lifetime(): LifetimeRollup | undefined {
    const record = this.#open()?.lifetime.get(LIFETIME_KEY);
    return record?.v === ROLLUP_VERSION ? record : undefined;
  }

  /** Writes (batched, not awaited); false when the store is down. Resolves when committed. */
  write(minutes: readonly MinuteRollup[], lifetime: LifetimeRollup | undefined): Promise<boolean> {
    const dbs = this.#open();
    if (!dbs) return Promise.resolve(false);
    const writes: Promise<boolean>[] = minutes.map((m) => dbs.minutes.put(m.minute, m));
    if (lifetime) writes.push(dbs.lifetime.put(LIFETIME_KEY, lifetime));
    return Promise.all(writes).then(() => true);
  }

  /** Removes the minutes that started before `cutoff`; resolves with how many once committed. */
  prune(cutoff: number): Promise<number> {
    const dbs = this.#open();
    if (!dbs) return Promise.resolve(0);
    const removals: Promise<boolean>[] = [];
    for (const key of dbs.minutes.getKeys({ end: cutoff })) removals.push(dbs.minutes.remove(key));
    return Promise.all(removals).then(() => removals.length);
  }

  /** How many minutes are stored. */
  count(): number {
    const dbs = this.#open();
    return dbs ? dbs.minutes.getKeysCount() : 0;
  }

  #open(): Databases | undefined {
    const root = this.store();
    if (!root) {
      this.#dbs = undefined;
      return undefined;
    }
    if (this.#dbs?.root !== root) {
      // A restarted store actor opens a new environment: open the named databases again.
      this.#dbs = {
        root,
        minutes: root.openDB<MinuteRollup, number>({ name: MINUTES_DB_NAME, encoding: 'msgpack' }),
        lifetime: root.openDB<LifetimeRollup, string>({ name: LIFETIME_DB_NAME, encoding: 'msgpack' }),
      };
    }
    return this.#dbs;
  }
}
