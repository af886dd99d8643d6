/**
 * The waiting room of the limiter: one lane per agent (its waiters, highest priority first, then
 * first come), and per priority class a round-robin ring of the lanes whose front waiter has that
 * priority. The rule that serves them lives in limiter.ts; this file holds the structures.
 */
import { IndexedHeap } from './indexed-heap.js';
import type { LimitKey } from './limit-key.js';
import type { LimitRequest } from './types.js';

/** Who a waiter tells when its signal aborts. */
export interface WaiterOwner {
  cancelWaiter(waiter: Waiter): void;
}

/** A request waiting for room. It is its own abort listener (no closure per waiter). */
export class Waiter {
  /** Position in its lane's queue and in the deadline heap (−1: not there). */
  queueIndex = -1;
  deadlineIndex = -1;
  resolve: () => void = noop;
  reject: (error: unknown) => void = noop;

  constructor(
    readonly owner: WaiterOwner,
    readonly request: LimitRequest,
    readonly lane: AgentLane,
    readonly backend: LimitKey | null,
    readonly tokens: number,
    readonly priority: number,
    /** Latest admission time (clock ms). */
    readonly deadline: number,
    readonly arrival: number,
    /** Arrival order, to keep equal priorities first come, first served. */
    readonly seq: number,
  ) {}

  handleEvent(): void {
    this.owner.cancelWaiter(this);
  }
}

function noop(): void {}

/** Front of an agent's queue: higher priority first, then earlier arrival. */
function servedBefore(a: Waiter, b: Waiter): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

/** One agent: its limit key, its queue, and its place in the fair queue. */
export class AgentLane {
  readonly queue = new IndexedHeap<Waiter>(
    servedBefore,
    (w) => w.queueIndex,
    (w, i) => {
      w.queueIndex = i;
    },
  );
  /** The ring it is in (null when idle or parked). */
  cls: PriorityClass | null = null;
  prev: AgentLane | null = null;
  next: AgentLane | null = null;
  /** Parked: its front waiter waits for the agent's own limit until this time (NaN: not parked). */
  parkedUntil = Number.NaN;
  parkIndex = -1;

  constructor(
    readonly agentId: string,
    readonly key: LimitKey,
  ) {}

  get parked(): boolean {
    return this.parkIndex >= 0;
  }
}

/** Lanes whose front waiter has one priority, in round-robin order; `cursor` is whose turn it is. */
export class PriorityClass {
  cursor: AgentLane | null = null;
  size = 0;
  constructor(readonly priority: number) {}
}

/** The priority classes, highest first, and lane membership in their rings. */
export class FairQueue {
  /** Highest priority first. May hold empty classes until `compact()`. */
  readonly classes: PriorityClass[] = [];
  private readonly byPriority = new Map<number, PriorityClass>();

  /** Puts `lane` in the ring of `priority`, last in the current round (just before the cursor). */
  join(lane: AgentLane, priority: number): void {
    const cls = this.classFor(priority);
    const cursor = cls.cursor;
    if (cursor === null) {
      lane.prev = lane;
      lane.next = lane;
      cls.cursor = lane;
    } else {
      const last = cursor.prev!;
      last.next = lane;
      lane.prev = last;
      lane.next = cursor;
      cursor.prev = lane;
    }
    lane.cls = cls;
    cls.size++;
  }

  /** Takes `lane` out of its ring; whose turn it was passes to the next lane. */
  leave(lane: AgentLane): void {
    const cls = lane.cls;
    if (cls === null) return;
    if (lane.next === lane) {
      cls.cursor = null;
    } else {
      lane.prev!.next = lane.next;
      lane.next!.prev = lane.prev;
      if (cls.cursor === lane) cls.cursor = lane.next;
    }
    lane.prev = null;
    lane.next = null;
    lane.cls = null;
    cls.size--;
  }

  /** Drops empty classes (never during a pass over `classes`). */
  compact(): void {
    let write = 0;
    for (const cls of this.classes) {
      if (cls.size > 0) this.classes[write++] = cls;
      else this.byPriority.delete(cls.priority);
    }
    this.classes.length = write;
  }

  private classFor(priority: number): PriorityClass {
    let cls = this.byPriority.get(priority);
    if (cls !== undefined) return cls;
    cls = new PriorityClass(priority);
    this.byPriority.set(priority, cls);
    let index = this.classes.length;
    while (index > 0 && this.classes[index - 1]!.priority < priority) index--;
    this.classes.splice(index, 0, cls);
    return cls;
  }
}
