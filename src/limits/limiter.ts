/**
 * The optimizer's rate limiter: exact sliding 60 s windows on every key a request touches, a fair
 * queue in front of them, and one timer. Pure and deterministic: time comes from the injected clock.
 *
 * Keys of a request: `global` (when configured), `agent:<agentId>` (the agent's own limits, field by
 * field falling back to `perAgent`), and `backend:<backendId>` when that backend has limits. A
 * request is admitted only when every one of its keys has room, and is then recorded in all of them
 * at once (nothing can happen in between: the limiter is synchronous).
 *
 * A request that fails over to another backend takes one more slot, on that backend's key alone,
 * with `tryAdmitBackend`: now or never, never queued (the reasons are on the method).
 *
 * ## Fairness rule
 *
 * - **Within an agent**: higher `priority` first, then first come, first served. Only the agent's
 *   front request is considered (its later ones wait behind it, even for another backend).
 * - **Across agents: strict priority classes, round-robin within a class.** Agents are grouped by the
 *   priority of their front request; classes are served highest first; within a class, agents take
 *   turns, one admission per turn, starting after the agent served last. An agent that gets a
 *   backlog joins its class at the end of the current round.
 * - **An agent at its own limit is skipped** ("parked") until its `agent:` window frees: it holds up
 *   nobody else (no head-of-line blocking across agents), and rejoins at the end of the round.
 * - **A shared key is held for whoever is first in line for it.** When the agent whose turn it is
 *   lacks room in a shared key (`global`, `backend:`), that key is reserved: agents after it in the
 *   order (same class, later in the round; or a lower class) may not take it until that request is
 *   admitted, leaves, or times out. Without this, a large token estimate could starve behind a
 *   stream of small requests. Agents that do not use the reserved key go on being served.
 *
 * Bound (checked by props/limiter.prop.ts): while two agents of the same class are both continuously
 * backlogged, and neither is held by its own limit or by a key the other does not use, their
 * admissions alternate: neither is admitted twice in a row (k = 1). A lower class gets nothing while
 * a higher class can use the capacity; deadlines bound how long that lasts.
 *
 * ## Deadlines
 *
 * A request's deadline is the earlier of arrival + `maxQueueWaitMs` and its own `deadline`. It is
 * never admitted after it, and is refused (RATE_LIMITED, with `retryAfterMs`) **at the deadline at
 * the latest**, and **earlier only when that is certain**: when, from the windows alone, the earliest
 * time all its keys could have room — a lower bound, because admissions only ever add to the windows
 * — is after its deadline. That check runs on arrival, and whenever a pass over the queue looks at
 * the request at the front of its agent's queue (a pass stops early once the global limit is held).
 * `maxQueueWaitMs: 0` never queues: what does not fit at once is refused at once. A request whose
 * token estimate exceeds a whole tokens-per-minute limit can never fit and is refused at once with
 * INVALID_REQUEST (not a 429: retrying cannot help).
 *
 * ## Cost
 *
 * `tryAdmit` is the hot path: a few comparisons per key, O(1), no allocation. Queued requests cost
 * O(log n) to enqueue and to leave. A wake-up costs O(admissions) while the global limit binds (the
 * pass stops where it is held), and at most O(agents waiting + admissions). Wake-ups use one timer,
 * set for the earliest of: a front request's blocking window freeing room, a parked agent's own
 * window freeing room, the earliest deadline.
 *
 * ## Use
 *
 * ```ts
 * const limiter = Limiter.fromConfig(config);           // realClock; ManualClock in tests
 * await limiter.admit({ agentId, backendId, tokens, priority, signal });
 * // or, where awaiting is unwelcome: if (!limiter.tryAdmit(req)) await limiter.admit(req);
 * ```
 */
import type { AgentConfig, BackendConfig, OptimizerConfig } from '../config/types.js';
import { OptimizerError } from '../errors/registry.js';
import { realClock, type Clock } from './clock.js';
import { AgentLane, FairQueue, type PriorityClass, Waiter, type WaiterOwner } from './fair-queue.js';
import { IndexedHeap } from './indexed-heap.js';
import { LimitKey } from './limit-key.js';
import type { KeyUsage, LimiterObserver, LimiterOptions, LimiterStats, LimitRequest, RateLimit } from './types.js';

export type { Clock } from './clock.js';
export { ManualClock, realClock } from './clock.js';
export type { KeyUsage, LimiterObserver, LimiterOptions, LimiterStats, LimitRequest, RateLimit } from './types.js';

/** Shared by every admission that needs no waiting: the fast path of `admit` allocates nothing. */
const ADMITTED: Promise<void> = Promise.resolve();

/** What `evaluate` decided for a waiter at the front of its agent's queue. */
type Decision = 0 | 1 | 2 | 3;
const ADMIT: Decision = 0;
/** The agent's own window is full: park the agent. */
const PARK: Decision = 1;
/** A shared window lacks room, or a shared key is reserved by someone ahead: wait in the ring. */
const BLOCK: Decision = 2;
/** Past its deadline, or certain not to fit by it. */
const REJECT: Decision = 3;

/** What `serveFront` did with a lane's turn. */
const SERVED = 0;
const HELD = 1;
const MOVED = 2;

const LACKS_GLOBAL = 1;
const LACKS_BACKEND = 2;

const FIRST_PRUNE_AT = 1024;

/** The rate limiter (see the file's TSDoc for the rules). Create one per process with `Limiter.fromConfig`. */
export class Limiter implements WaiterOwner {
  private readonly clock: Clock;
  private readonly maxQueueWaitMs: number;
  private readonly observer: LimiterObserver | undefined;
  private readonly globalKey: LimitKey | null;
  private readonly perAgent: RateLimit;
  private readonly agentLimits: ReadonlyMap<string, RateLimit>;
  private readonly backendKeys = new Map<string, LimitKey>();
  private readonly lanes = new Map<string, AgentLane>();
  private readonly fair = new FairQueue();
  private readonly deadlines = new IndexedHeap<Waiter>(
    (a, b) => a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq),
    (w) => w.deadlineIndex,
    (w, i) => {
      w.deadlineIndex = i;
    },
  );
  private readonly parked = new IndexedHeap<AgentLane>(
    (a, b) => a.parkedUntil < b.parkedUntil,
    (lane) => lane.parkIndex,
    (lane, i) => {
      lane.parkIndex = i;
    },
  );
  /** Reservations on keys are valid for one generation; every pass over the queue starts a new one. */
  private gen = 1;
  /** Earliest time a blocked front request's lacking windows free room (Infinity: none). */
  private blockedWake = Infinity;
  private wakeAt = Infinity;
  private timer: unknown = undefined;
  private timerSet = false;
  private lastNow = -Infinity;
  private seq = 0;
  private depth = 0;
  private admittedCount = 0;
  private queuedCount = 0;
  private rejectedCount = 0;
  private cancelledCount = 0;
  private failoverAdmittedCount = 0;
  private failoverRefusedCount = 0;
  private servicing = false;
  private closed = false;
  private pruneAt = FIRST_PRUNE_AT;
  /** Out-parameters of `evaluate` (kept in fields so that deciding allocates nothing). */
  private evalAt = 0;
  private evalLacking = 0;
  private readonly scratch: AgentLane[] = [];
  private readonly onWake = (): void => {
    this.timerSet = false;
    this.wakeAt = Infinity;
    this.service(this.now());
  };

  constructor(options: LimiterOptions) {
    const problems: string[] = [];
    checkLimit('global', options.global, problems);
    checkLimit('perAgent', options.perAgent, problems);
    for (const [id, limit] of options.agents ?? []) checkLimit(`agents[${id}].limits`, limit, problems);
    for (const [id, limit] of options.backends ?? []) checkLimit(`backends[${id}].limits`, limit, problems);
    if (!(Number.isFinite(options.maxQueueWaitMs) && options.maxQueueWaitMs >= 0)) {
      problems.push(`maxQueueWaitMs must be a finite number ≥ 0 (got ${String(options.maxQueueWaitMs)})`);
    }
    if (problems.length > 0) throw new RangeError(`Invalid limiter options: ${problems.join('; ')}`);

    this.clock = options.clock;
    this.maxQueueWaitMs = options.maxQueueWaitMs;
    this.observer = options.observer;
    this.globalKey = isLimited(options.global) ? new LimitKey('global', options.global) : null;
    this.perAgent = options.perAgent ?? {};
    this.agentLimits = options.agents ?? new Map();
    for (const [id, limit] of options.backends ?? []) {
      if (isLimited(limit)) this.backendKeys.set(id, new LimitKey(`backend:${id}`, limit));
    }
  }

  /** A limiter for `config.limits`, its agents' own limits and its backends' quotas. */
  static fromConfig(
    config: Pick<OptimizerConfig, 'limits' | 'agents' | 'backends'>,
    clock: Clock = realClock,
    observer?: LimiterObserver,
  ): Limiter {
    return new Limiter(limiterOptionsFromConfig(config, clock, observer));
  }

  /** The limiter's time (its clock, never going back): the scale of `LimitRequest.deadline`. */
  now(): number {
    const time = this.clock.now();
    if (time > this.lastNow) this.lastNow = time;
    return this.lastNow;
  }

  /**
   * The hot path: admits `request` now and returns true when its agent has nothing queued, every
   * key has room and no key is held for a request ahead of it. Otherwise returns false and changes
   * nothing: call `admit` to queue (false is not a refusal: `admit` may still admit at once, e.g.
   * a higher priority than the request a key is held for). Allocates nothing.
   */
  tryAdmit(request: LimitRequest): boolean {
    const now = this.now();
    if (now >= this.wakeAt) this.service(now);
    if (this.closed) return false;
    const lane = this.lanes.get(request.agentId) ?? this.laneFor(request.agentId);
    if (lane.queue.size !== 0) return false;
    const tokens = request.tokens ?? 0;
    const priority = request.priority ?? 0;
    if (!(tokens >= 0 && tokens < Infinity) || priority !== priority) return false; // malformed: `admit` says why
    const deadline = request.deadline;
    if (deadline !== undefined && !(deadline >= now)) return false;
    const signal = request.signal;
    if (signal !== undefined && signal.aborted) return false;
    if (!lane.key.hasRoom(now, tokens)) return false;
    const global = this.globalKey;
    if (global !== null && (this.isHeld(global, priority) || !global.hasRoom(now, tokens))) return false;
    let backend: LimitKey | null = null;
    if (request.backendId !== undefined) {
      backend = this.backendKeys.get(request.backendId) ?? null;
      if (backend !== null && (this.isHeld(backend, priority) || !backend.hasRoom(now, tokens))) return false;
    }
    this.record(lane, backend, now, tokens);
    this.admittedCount++;
    const observer = this.observer;
    if (observer !== undefined && observer.admitted !== undefined) observer.admitted(request, now, 0);
    return true;
  }

  /**
   * Failover: takes one slot on the key `backend:<backendId>` alone, now or never, for a request that
   * was already admitted (on `global`, its agent's key, and the first backend's key) and is moving to
   * another backend. Returns true when that backend has no limits of its own, or when its key has
   * room and is not held for a queued request of the same or a higher priority (the same rule as
   * `tryAdmit`, so a failover never jumps the fair queue); false otherwise, and then changes nothing.
   *
   * It never queues, by design: the request has waited its turn already, the caller holds its client
   * while it tries candidates within the request's deadline, and the next candidate may have room now.
   * Queueing here would park an admitted request in its agent's lane, ahead of that agent's other
   * requests, for a backend chosen only because another one failed. The caller skips a candidate that
   * gets false (src/gateway/delivery.ts). `global` and the agent's key are not counted again: one
   * request is one admission there, however many backends it tries. Allocates nothing.
   */
  tryAdmitBackend(backendId: string, request: LimitRequest): boolean {
    const backend = this.backendKeys.get(backendId);
    if (backend === undefined) return true;
    const now = this.now();
    // Queued requests whose time has come are served first: they were there before this failover.
    if (now >= this.wakeAt) this.service(now);
    const tokens = request.tokens ?? 0;
    const priority = request.priority ?? 0;
    if (!(tokens >= 0 && tokens < Infinity) || priority !== priority || this.isHeld(backend, priority) || !backend.hasRoom(now, tokens)) {
      this.failoverRefusedCount++;
      return false;
    }
    backend.record(now, tokens);
    this.failoverAdmittedCount++;
    return true;
  }

  /** Whether `backend:<backendId>` is limited (the backend has `limits` of its own). */
  limitsBackend(backendId: string): boolean {
    return this.backendKeys.has(backendId);
  }

  /** Whether any backend has limits of its own: without, the request path need not think about backend keys. */
  get limitsAnyBackend(): boolean {
    return this.backendKeys.size > 0;
  }

  /**
   * Resolves when `request` is admitted (at once, with a shared already-resolved promise, when
   * `tryAdmit` would admit it). Rejects with an OptimizerError: RATE_LIMITED (with `retryAfterMs`)
   * at its deadline, or before it when it certainly cannot fit by then; INVALID_REQUEST when its
   * token estimate exceeds a whole tokens-per-minute limit; CANCELLED (or the signal's reason when
   * that is an OptimizerError) when its signal aborts first; SHUTTING_DOWN after `close()`. Rejects
   * with a RangeError when the request itself is malformed (negative tokens, NaN priority...).
   *
   * An admitted request has taken its slot; aborting it afterwards gives nothing back.
   */
  admit(request: LimitRequest): Promise<void> {
    if (this.tryAdmit(request)) return ADMITTED;
    return this.admitSlowly(request);
  }

  /** Requests waiting now: in all, or for one agent. */
  queueDepth(agentId?: string): number {
    if (agentId === undefined) return this.depth;
    return this.lanes.get(agentId)?.queue.size ?? 0;
  }

  stats(): LimiterStats {
    const queueDepthByAgent: Record<string, number> = {};
    for (const lane of this.lanes.values()) if (lane.queue.size > 0) queueDepthByAgent[lane.agentId] = lane.queue.size;
    return {
      admitted: this.admittedCount,
      queued: this.queuedCount,
      rejected: this.rejectedCount,
      cancelled: this.cancelledCount,
      queueDepth: this.depth,
      queueDepthByAgent,
      agentsAtOwnLimit: this.parked.size,
      failoverAdmitted: this.failoverAdmittedCount,
      failoverRefused: this.failoverRefusedCount,
      nextWakeAt: this.wakeAt === Infinity ? null : this.wakeAt,
    };
  }

  /** How full a key (`global`, `agent:<id>`, `backend:<id>`) is now; undefined when it is not limited. */
  keyUsage(keyName: string): KeyUsage | undefined {
    let key: LimitKey | null | undefined;
    if (keyName === 'global') key = this.globalKey;
    else if (keyName.startsWith('agent:')) key = this.laneFor(keyName.slice('agent:'.length)).key;
    else if (keyName.startsWith('backend:')) key = this.backendKeys.get(keyName.slice('backend:'.length));
    if (key === null || key === undefined || (key.requests === null && key.tokens === null)) return undefined;
    const now = this.now();
    return {
      key: key.name,
      requests: key.requests?.used(now) ?? 0,
      requestsPerMinute: key.requests?.limit,
      tokens: key.tokens?.used(now) ?? 0,
      tokensPerMinute: key.tokens?.limit,
    };
  }

  /**
   * Refuses every waiting request with SHUTTING_DOWN, stops the timer, and refuses what comes later.
   * Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timerSet) this.clock.clearTimeout(this.timer);
    this.timerSet = false;
    this.wakeAt = Infinity;
    const now = this.now();
    for (const waiter of this.deadlines.toArray()) {
      const error = new OptimizerError('SHUTTING_DOWN', 'The optimizer is shutting down; this request was still waiting for a rate limit.');
      this.rejectWaiter(waiter, now, error);
    }
    for (const lane of this.lanes.values()) this.relocate(lane);
    this.fair.compact();
  }

  /** @internal The abort listener of a waiter. */
  cancelWaiter(waiter: Waiter): void {
    if (waiter.queueIndex < 0) return; // already settled
    const now = this.now();
    const lane = waiter.lane;
    const wasFront = lane.queue.peek() === waiter;
    this.detach(waiter);
    this.cancelledCount++;
    const error = cancelledError(waiter.request.signal?.reason);
    this.observer?.rejected?.(waiter.request, now, error);
    waiter.reject(error);
    if (wasFront) {
      // It may have held keys for itself: serve again so that those behind it get their turn.
      this.unpark(lane);
      this.relocate(lane);
      this.service(now);
    } else {
      this.scheduleWake(now);
    }
  }

  // ── the slow path ─────────────────────────────────────────────────────────────────────────────

  private admitSlowly(request: LimitRequest): Promise<void> {
    const now = this.now();
    if (this.closed) {
      return this.refuse(request, now, new OptimizerError('SHUTTING_DOWN', 'The optimizer is shutting down; no new request is admitted.'));
    }
    const signal = request.signal;
    if (signal !== undefined && signal.aborted) {
      this.cancelledCount++;
      const error = cancelledError(signal.reason);
      this.observer?.rejected?.(request, now, error);
      return Promise.reject(error);
    }
    const tokens = request.tokens ?? 0;
    const priority = request.priority ?? 0;
    const explicitDeadline = request.deadline ?? Infinity;
    if (!(Number.isFinite(tokens) && tokens >= 0)) {
      return Promise.reject(new RangeError(`LimitRequest.tokens must be a finite number ≥ 0 (got ${String(tokens)})`));
    }
    if (Number.isNaN(priority)) return Promise.reject(new RangeError('LimitRequest.priority must be a number, not NaN'));
    if (Number.isNaN(explicitDeadline)) return Promise.reject(new RangeError('LimitRequest.deadline must be a number, not NaN'));

    const lane = this.lanes.get(request.agentId) ?? this.laneFor(request.agentId);
    const backend = request.backendId === undefined ? null : (this.backendKeys.get(request.backendId) ?? null);
    const tooSmall = this.neverFits(lane, backend, tokens);
    if (tooSmall !== null) {
      const limit = tooSmall.tokens?.limit ?? 0;
      const message =
        `This request needs an estimated ${tokens} tokens, more than the whole limit of ${tooSmall.name} ` +
        `(${limit} tokens/min): it can never be admitted. Lower max_tokens or shorten the prompt.`;
      return this.refuse(request, now, new OptimizerError('INVALID_REQUEST', message, { details: { limit: tooSmall.name, tokens, tokensPerMinute: limit } }));
    }

    const deadline = Math.min(explicitDeadline, now + this.maxQueueWaitMs);
    const waiter = new Waiter(this, request, lane, backend, tokens, priority, deadline, now, ++this.seq);

    if (lane.queue.size === 0) {
      // The agent has nothing queued: decide for this request alone, as the last of its class.
      const decision = this.evaluate(waiter, now);
      if (decision === ADMIT) {
        this.record(lane, backend, now, tokens);
        this.admittedCount++;
        this.observer?.admitted?.(request, now, 0);
        return ADMITTED;
      }
      if (decision === REJECT) return this.refuse(request, now, this.rateLimited(waiter, now));
      const promise = this.enqueue(waiter, now);
      if (decision === PARK) {
        this.park(lane, this.evalAt);
      } else {
        this.fair.join(lane, priority);
        this.holdLacking(waiter);
      }
      this.scheduleWake(now);
      return promise;
    }

    // Behind the agent's earlier requests.
    if (this.lowerBound(waiter, now) > deadline) return this.refuse(request, now, this.rateLimited(waiter, now));
    const promise = this.enqueue(waiter, now);
    if (lane.queue.peek() === waiter) {
      // It outranks the agent's former front request: the agent may change class or unpark.
      this.unpark(lane);
      this.relocate(lane);
      this.service(now);
    } else if (deadline <= now) {
      this.service(now);
    } else {
      this.scheduleWake(now);
    }
    return promise;
  }

  /**
   * Decides for a waiter at the front of its agent's queue (or alone). Sets `evalAt` to the earliest
   * time all its lacking windows have room (−Infinity when it lacks none and is only held back by
   * a reservation), and `evalLacking` to the shared keys it lacks room in.
   */
  private evaluate(waiter: Waiter, now: number): Decision {
    const tokens = waiter.tokens;
    const agentKey = waiter.lane.key;
    const global = this.globalKey;
    const backend = waiter.backend;
    this.evalLacking = 0;
    if (waiter.deadline < now) {
      // Only when a wake-up came late (a real timer): never admit past the deadline.
      this.evalAt = now;
      return REJECT;
    }
    if (!agentKey.hasRoom(now, tokens)) {
      let at = agentKey.freeAt(now, tokens);
      if (global !== null) at = Math.max(at, global.freeAt(now, tokens));
      if (backend !== null) at = Math.max(at, backend.freeAt(now, tokens));
      this.evalAt = at;
      return at > waiter.deadline ? REJECT : PARK;
    }
    let at = -Infinity;
    let held = false;
    if (global !== null) {
      if (!global.hasRoom(now, tokens)) {
        at = global.freeAt(now, tokens);
        this.evalLacking |= LACKS_GLOBAL;
      } else if (this.isHeld(global, waiter.priority)) {
        held = true;
      }
    }
    if (backend !== null) {
      if (!backend.hasRoom(now, tokens)) {
        at = Math.max(at, backend.freeAt(now, tokens));
        this.evalLacking |= LACKS_BACKEND;
      } else if (this.isHeld(backend, waiter.priority)) {
        held = true;
      }
    }
    if (at === -Infinity && !held) return ADMIT;
    this.evalAt = at;
    return at > waiter.deadline || waiter.deadline <= now ? REJECT : BLOCK;
  }

  /** True when `key` is held for a request ahead of one of this priority. */
  private isHeld(key: LimitKey, priority: number): boolean {
    return key.reservedGen === this.gen && !(priority > key.reservedPriority);
  }

  /** After `evaluate` said BLOCK: holds the keys the waiter lacks room in, and notes when they free. */
  private holdLacking(waiter: Waiter): void {
    const at = this.evalAt;
    if ((this.evalLacking & LACKS_GLOBAL) !== 0) this.hold(this.globalKey!, waiter.priority, at);
    if ((this.evalLacking & LACKS_BACKEND) !== 0) this.hold(waiter.backend!, waiter.priority, at);
    if (this.evalLacking !== 0 && at < this.blockedWake) this.blockedWake = at;
  }

  private hold(key: LimitKey, priority: number, until: number): void {
    if (key.reservedGen !== this.gen) {
      key.reservedGen = this.gen;
      key.reservedPriority = priority;
      key.reservedUntil = until;
      return;
    }
    if (priority > key.reservedPriority) key.reservedPriority = priority;
    if (until < key.reservedUntil) key.reservedUntil = until;
  }

  // ── serving the queue ─────────────────────────────────────────────────────────────────────────

  /** Admits what can be admitted now, refuses what is due, and sets the timer. */
  private service(now: number): void {
    if (this.servicing) return;
    this.servicing = true;
    try {
      do this.pass(now);
      while (this.refuseExpired(now) > 0);
      this.fair.compact();
    } finally {
      this.servicing = false;
    }
    this.scheduleWake(now);
  }

  /** One pass over the classes, highest first, round-robin within each (the fairness rule). */
  private pass(now: number): void {
    this.gen++;
    this.blockedWake = Infinity;
    while (this.parked.size > 0 && this.parked.peek()!.parkedUntil <= now) {
      const lane = this.parked.pop()!;
      lane.parkedUntil = Number.NaN;
      this.relocate(lane);
    }
    const classes = this.fair.classes;
    const scratch = this.scratch;
    // Classes only ever gain lower classes during a pass (a lane whose next request has a lower
    // priority moves down), which sort after the current index.
    for (let c = 0; c < classes.length; c++) {
      const cls = classes[c]!;
      if (cls.size === 0) continue;
      // First round: walk the ring from whose turn it is. Serving a lane changes only that lane's
      // membership, so the next one is read before it is served.
      let lane = cls.cursor!;
      let stop = false;
      for (let remaining = cls.size; remaining > 0; remaining--) {
        const next = lane.next!;
        if (this.serveFront(lane, cls, now) === SERVED && lane.cls === cls) scratch.push(lane);
        if (this.globalHeld()) {
          stop = true;
          break;
        }
        lane = next;
      }
      // Further rounds, over the lanes served in the last one: a lane that could not be served
      // drops out (capacity does not grow during a pass, so it could not be served later in it).
      let active = scratch.length;
      while (!stop && active > 0) {
        let kept = 0;
        for (let r = 0; r < active; r++) {
          const candidate = scratch[r]!;
          if (candidate.cls !== cls) continue;
          if (this.serveFront(candidate, cls, now) === SERVED && candidate.cls === cls) scratch[kept++] = candidate;
          if (this.globalHeld()) {
            stop = true;
            break;
          }
        }
        active = kept;
      }
      scratch.length = 0;
      if (stop) return;
    }
  }

  /**
   * True once `global` is held in this pass: every request needs it, and it is held for this class
   * or a higher one, so nobody left in the pass (this class, later in the round; lower classes) can
   * be admitted. Stopping there keeps a wake-up O(admissions) instead of O(agents waiting).
   */
  private globalHeld(): boolean {
    return this.globalKey !== null && this.globalKey.reservedGen === this.gen;
  }

  /** One turn of `lane` in `cls`: admit its front request, or find why it must wait. */
  private serveFront(lane: AgentLane, cls: PriorityClass, now: number): number {
    for (;;) {
      const waiter = lane.queue.peek();
      if (waiter === undefined) {
        this.fair.leave(lane);
        return MOVED;
      }
      if (waiter.priority !== cls.priority) {
        this.fair.leave(lane);
        this.fair.join(lane, waiter.priority);
        return MOVED;
      }
      const decision = this.evaluate(waiter, now);
      if (decision === ADMIT) {
        cls.cursor = lane.next; // the next agent's turn
        this.admitWaiter(waiter, now);
        const next = lane.queue.peek();
        if (next === undefined) {
          this.fair.leave(lane);
        } else if (next.priority !== cls.priority) {
          this.fair.leave(lane);
          this.fair.join(lane, next.priority);
        }
        return SERVED;
      }
      if (decision === REJECT) {
        this.rejectWaiter(waiter, now, this.rateLimited(waiter, now));
        continue;
      }
      if (decision === PARK) {
        this.fair.leave(lane);
        this.park(lane, this.evalAt);
        return MOVED;
      }
      this.holdLacking(waiter);
      return HELD;
    }
  }

  /** Refuses every waiter whose deadline has come; returns how many were at the front of their agent's queue. */
  private refuseExpired(now: number): number {
    let fronts = 0;
    for (;;) {
      const waiter = this.deadlines.peek();
      if (waiter === undefined || waiter.deadline > now) return fronts;
      const lane = waiter.lane;
      const wasFront = lane.queue.peek() === waiter;
      this.rejectWaiter(waiter, now, this.rateLimited(waiter, now));
      if (wasFront) {
        this.unpark(lane);
        this.relocate(lane);
        fronts++;
      }
    }
  }

  private scheduleWake(now: number): void {
    let at = Infinity;
    if (this.depth === 0) this.blockedWake = Infinity;
    else at = this.blockedWake;
    const nextDeadline = this.deadlines.peek();
    if (nextDeadline !== undefined && nextDeadline.deadline < at) at = nextDeadline.deadline;
    const nextUnpark = this.parked.peek();
    if (nextUnpark !== undefined && nextUnpark.parkedUntil < at) at = nextUnpark.parkedUntil;
    if (at === this.wakeAt) return;
    if (this.timerSet) this.clock.clearTimeout(this.timer);
    this.timerSet = false;
    this.wakeAt = at;
    if (at === Infinity) return;
    this.timer = this.clock.setTimeout(this.onWake, Math.max(0, Math.ceil(at - now)));
    this.timerSet = true;
  }

  // ── lanes and waiters ─────────────────────────────────────────────────────────────────────────

  private laneFor(agentId: string): AgentLane {
    let lane = this.lanes.get(agentId);
    if (lane !== undefined) return lane;
    if (this.lanes.size >= this.pruneAt) this.pruneIdleLanes();
    const own = this.agentLimits.get(agentId);
    const limit: RateLimit = {
      requestsPerMinute: own?.requestsPerMinute ?? this.perAgent.requestsPerMinute,
      tokensPerMinute: own?.tokensPerMinute ?? this.perAgent.tokensPerMinute,
    };
    lane = new AgentLane(agentId, new LimitKey(`agent:${agentId}`, limit));
    this.lanes.set(agentId, lane);
    return lane;
  }

  /** Forgets agents with nothing queued and nothing left in their windows (their state is empty anyway). */
  private pruneIdleLanes(): void {
    const now = this.now();
    for (const [id, lane] of this.lanes) {
      if (lane.queue.size === 0 && !lane.parked && lane.cls === null && lane.key.isIdle(now)) this.lanes.delete(id);
    }
    this.pruneAt = Math.max(FIRST_PRUNE_AT, 2 * this.lanes.size);
  }

  /** Puts a lane where its front request says: idle, or in the ring of its priority (parked lanes stay parked). */
  private relocate(lane: AgentLane): void {
    const front = lane.queue.peek();
    if (front === undefined) {
      this.unpark(lane);
      this.fair.leave(lane);
      return;
    }
    if (lane.parked) return;
    if (lane.cls === null) this.fair.join(lane, front.priority);
    else if (lane.cls.priority !== front.priority) {
      this.fair.leave(lane);
      this.fair.join(lane, front.priority);
    }
  }

  private park(lane: AgentLane, until: number): void {
    lane.parkedUntil = until;
    this.parked.push(lane);
  }

  private unpark(lane: AgentLane): void {
    if (!lane.parked) return;
    this.parked.remove(lane);
    lane.parkedUntil = Number.NaN;
  }

  private enqueue(waiter: Waiter, now: number): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    waiter.lane.queue.push(waiter);
    this.deadlines.push(waiter);
    this.depth++;
    this.queuedCount++;
    waiter.request.signal?.addEventListener('abort', waiter, { once: true });
    this.observer?.queued?.(waiter.request, now);
    return promise;
  }

  /** Takes a waiter out of every structure (not out of the ring: callers relocate its lane). */
  private detach(waiter: Waiter): void {
    waiter.lane.queue.remove(waiter);
    this.deadlines.remove(waiter);
    this.depth--;
    waiter.request.signal?.removeEventListener('abort', waiter);
  }

  private admitWaiter(waiter: Waiter, now: number): void {
    this.record(waiter.lane, waiter.backend, now, waiter.tokens);
    this.detach(waiter);
    this.admittedCount++;
    this.observer?.admitted?.(waiter.request, now, now - waiter.arrival);
    waiter.resolve();
  }

  private rejectWaiter(waiter: Waiter, now: number, error: OptimizerError): void {
    this.detach(waiter);
    this.rejectedCount++;
    this.observer?.rejected?.(waiter.request, now, error);
    waiter.reject(error);
  }

  /** Refuses a request that was never queued. */
  private refuse(request: LimitRequest, now: number, error: OptimizerError): Promise<void> {
    this.rejectedCount++;
    this.observer?.rejected?.(request, now, error);
    return Promise.reject(error);
  }

  private record(lane: AgentLane, backend: LimitKey | null, now: number, tokens: number): void {
    lane.key.record(now, tokens);
    if (this.globalKey !== null) this.globalKey.record(now, tokens);
    if (backend !== null) backend.record(now, tokens);
  }

  private neverFits(lane: AgentLane, backend: LimitKey | null, tokens: number): LimitKey | null {
    if (!lane.key.canEverFit(tokens)) return lane.key;
    if (this.globalKey !== null && !this.globalKey.canEverFit(tokens)) return this.globalKey;
    if (backend !== null && !backend.canEverFit(tokens)) return backend;
    return null;
  }

  /** The earliest time all the waiter's keys could have room: nothing can admit it sooner. */
  private lowerBound(waiter: Waiter, now: number): number {
    let at = waiter.lane.key.freeAt(now, waiter.tokens);
    if (this.globalKey !== null) at = Math.max(at, this.globalKey.freeAt(now, waiter.tokens));
    if (waiter.backend !== null) at = Math.max(at, waiter.backend.freeAt(now, waiter.tokens));
    return at;
  }

  // ── errors ────────────────────────────────────────────────────────────────────────────────────

  /** The 429 for a waiter refused now: names the window that blocks it and when it frees a slot. */
  private rateLimited(waiter: Waiter, now: number): OptimizerError {
    const blocker = this.blockerOf(waiter, now);
    const retryAfterMs = Math.max(1, Math.ceil(blocker.at - now));
    const waitedMs = Math.round(now - waiter.arrival);
    const limit = `rate limit ${blocker.key.name} (${blocker.key.describe()})`;
    let why: string;
    if (blocker.ahead === 'none') {
      why = waiter.deadline < waiter.arrival ? 'its deadline had passed before it reached the rate limiter' : 'its deadline passed before it could be served';
    }
    else if (blocker.ahead) why = `requests queued ahead of it hold the ${limit}`;
    else why = `the ${limit} is full`;
    let message: string;
    if (waiter.deadline > now) {
      message = `Cannot admit this request before its deadline, ${Math.ceil(waiter.deadline - now)} ms from now: ${why}; retry after ${retryAfterMs} ms.`;
    } else if (waitedMs === 0) {
      message = `Cannot admit this request now and it may not wait (limits.maxQueueWaitMs or its deadline): ${why}; retry after ${retryAfterMs} ms.`;
    } else {
      message = `Waited ${waitedMs} ms, until its deadline, without being admitted: ${why}; retry after ${retryAfterMs} ms.`;
    }
    return new OptimizerError('RATE_LIMITED', message, { retryAfterMs, details: { limit: blocker.key.name, waitedMs } });
  }

  /**
   * What keeps a waiter out now: the key whose window frees last among those it lacks room in;
   * else (it would fit by itself) what the requests ahead of it wait for; `at` is when that frees.
   */
  private blockerOf(waiter: Waiter, now: number): { key: LimitKey; at: number; ahead: boolean | 'none' } {
    const tokens = waiter.tokens;
    let key = waiter.lane.key;
    let at = key.freeAt(now, tokens);
    for (const shared of [this.globalKey, waiter.backend]) {
      if (shared === null) continue;
      const sharedAt = shared.freeAt(now, tokens);
      if (sharedAt > at) {
        at = sharedAt;
        key = shared;
      }
    }
    if (at > now) return { key, at, ahead: false };
    at = Infinity;
    for (const shared of [this.globalKey, waiter.backend]) {
      if (shared !== null && shared.reservedGen === this.gen && shared.reservedUntil > now && shared.reservedUntil < at) {
        at = shared.reservedUntil;
        key = shared;
      }
    }
    if (at !== Infinity) return { key, at, ahead: true };
    const lane = waiter.lane;
    if (lane.parked && lane.parkedUntil > now) return { key: lane.key, at: lane.parkedUntil, ahead: true };
    const front = lane.queue.peek();
    if (front !== undefined && front !== waiter) {
      const frontBlocker = this.blockerOf(front, now);
      if (frontBlocker.ahead !== 'none') return { key: frontBlocker.key, at: frontBlocker.at, ahead: true };
    }
    return { key: lane.key, at: now + 1, ahead: 'none' };
  }
}

/** LimiterOptions for `config.limits`, its agents' own limits and its backends' quotas. */
export function limiterOptionsFromConfig(
  config: Pick<OptimizerConfig, 'limits' | 'agents' | 'backends'>,
  clock: Clock = realClock,
  observer?: LimiterObserver,
): LimiterOptions {
  const agents = new Map<string, RateLimit>();
  for (const agent of config.agents as readonly AgentConfig[]) if (agent.limits !== undefined) agents.set(agent.id, agent.limits);
  const backends = new Map<string, RateLimit>();
  for (const backend of config.backends as readonly BackendConfig[]) if (isLimited(backend.limits)) backends.set(backend.id, backend.limits);
  return {
    clock,
    global: config.limits.global,
    perAgent: config.limits.perAgent,
    agents,
    backends,
    maxQueueWaitMs: config.limits.maxQueueWaitMs,
    observer,
  };
}

function isLimited(limit: RateLimit | undefined): limit is RateLimit {
  return limit !== undefined && (limit.requestsPerMinute !== undefined || limit.tokensPerMinute !== undefined);
}

function checkLimit(name: string, limit: RateLimit | undefined, problems: string[]): void {
  if (limit === undefined) return;
  for (const field of ['requestsPerMinute', 'tokensPerMinute'] as const) {
    const value = limit[field];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      problems.push(`${name}.${field} must be an integer ≥ 1 (got ${String(value)})`);
    }
  }
}

function cancelledError(reason: unknown): OptimizerError {
  if (reason instanceof OptimizerError) return reason;
  return new OptimizerError('CANCELLED', 'The request was cancelled while it waited for a rate limit.', { cause: reason });
}
