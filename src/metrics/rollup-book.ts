import { addLifetime, addMinute, emptyLifetime, emptyMinute, minuteOf, MINUTE_MS, type LifetimeRollup, type MinuteRollup } from './rollup.js';
import type { RollupStore } from './rollup-store.js';

interface Held<T> {
  rollup: T;
  /** Changed since it was last written. */
  dirty: boolean;
  /** Whether what was stored before (an earlier process, the same minute) has been added in. */
  loaded: boolean;
}

export interface RollupBookOptions {
  /** Minutes older than this are pruned from the store, in ms. */
  retentionMs: number;
}

/**
 * The roll-ups in memory and their persistence: the minutes being counted (normally the
 * current one, for a moment also the previous) and the lifetime totals, each merged once
 * with what an earlier process stored (so a restart inside a minute adds to it, never
 * overwrites it), written whole on each flush, and dropped from memory a flush after they
 * were written (by then LMDB has committed them, so reads see them there).
 */
export class RollupBook {
  readonly #minutes = new Map<number, Held<MinuteRollup>>();
  #lifetime: Held<LifetimeRollup> | undefined;
  #lastPrunedMinute = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: RollupStore,
    private readonly options: RollupBookOptions,
  ) {}

  /** The minute holding `at`, for counting into (marked changed). */
  minute(at: number): MinuteRollup {
    const start = minuteOf(at);
    let held = this.#minutes.get(start);
    if (!held) {
      held = { rollup: emptyMinute(start), dirty: true, loaded: false };
      this.#load(held);
      this.#minutes.set(start, held);
    }
    held.dirty = true;
    return held.rollup;
  }

  /** The lifetime totals, for counting into (marked changed). */
  lifetime(at: number): LifetimeRollup {
    const held = this.#lifetimeHeld(at);
    held.dirty = true;
    return held.rollup;
  }

  /** The lifetime totals as they stand (stored + counted since), read-only. */
  currentLifetime(at: number): LifetimeRollup {
    return this.#lifetimeHeld(at).rollup;
  }

  /** Agent labels present in the stored lifetime record (to label them again after a restart). */
  storedAgents(): string[] {
    const stored = this.store.lifetime();
    return stored ? Object.keys(stored.byAgent ?? {}) : [];
  }

  /**
   * Writes every changed roll-up, prunes the minutes past the retention, and forgets the
   * minutes written before that are no longer current. Resolves with false when the store
   * is down (everything stays in memory for the next flush).
   */
  flush(now: number): Promise<boolean> {
    if (!this.store.available) return Promise.resolve(false);
    const current = minuteOf(now);
    const writes: MinuteRollup[] = [];
    for (const [start, held] of this.#minutes) {
      if (!held.loaded) this.#load(held);
      if (held.dirty) {
        writes.push(held.rollup);
        held.dirty = false;
      } else if (start < current - MINUTE_MS) this.#minutes.delete(start);
    }
    let lifetime: LifetimeRollup | undefined;
    if (this.#lifetime) {
      if (!this.#lifetime.loaded) this.#loadLifetime(this.#lifetime);
      if (this.#lifetime.dirty) {
        lifetime = this.#lifetime.rollup;
        this.#lifetime.dirty = false;
      }
    }
    let pruned: Promise<number> | undefined;
    if (current > this.#lastPrunedMinute) {
      // Once a minute: the minutes that started more than `retentionMs` ago.
      pruned = this.store.prune(now - this.options.retentionMs);
      this.#lastPrunedMinute = current;
    }
    const written = writes.length === 0 && !lifetime ? Promise.resolve(true) : this.store.write(writes, lifetime);
    return pruned ? Promise.all([written, pruned]).then(([ok]) => ok) : written;
  }

  /**
   * `count` minutes ending with the one holding `now`, oldest first, each complete (stored,
   * with what is counted in memory on top); a minute without traffic is all zeros.
   */
  timeline(now: number, count: number): MinuteRollup[] {
    const last = minuteOf(now);
    const first = last - (count - 1) * MINUTE_MS;
    const byMinute = new Map<number, MinuteRollup>();
    for (const stored of this.store.minutes(first, last)) byMinute.set(stored.minute, stored);
    for (const [start, held] of this.#minutes) {
      if (start < first || start > last) continue;
      const stored = byMinute.get(start);
      byMinute.set(start, held.loaded || !stored ? held.rollup : addMinute(addMinute(emptyMinute(start), stored), held.rollup));
    }
    const out: MinuteRollup[] = [];
    for (let minute = first; minute <= last; minute += MINUTE_MS) out.push(byMinute.get(minute) ?? emptyMinute(minute));
    return out;
  }

  #lifetimeHeld(at: number): Held<LifetimeRollup> {
    if (!this.#lifetime) {
      this.#lifetime = { rollup: emptyLifetime(at), dirty: false, loaded: false };
      this.#loadLifetime(this.#lifetime);
    }
    return this.#lifetime;
  }

  #load(held: Held<MinuteRollup>): void {
    if (!this.store.available) return;
    const stored = this.store.minute(held.rollup.minute);
    if (stored) addMinute(held.rollup, stored);
    held.loaded = true;
  }

  #loadLifetime(held: Held<LifetimeRollup>): void {
    if (!this.store.available) return;
    const stored = this.store.lifetime();
    if (stored) addLifetime(held.rollup, stored);
    held.loaded = true;
  }
}
