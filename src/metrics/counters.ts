/**
 * The counters kept per agent, per backend, per model and per minute: the `Counters` of the
 * `/admin/stats` contract (docs/observability.md, "Stats API"). Every field is a number that
 * only grows; a breakdown is a record of these.
 */
export interface Counters {
  /** Requests answered (whatever the outcome), counted when they complete. */
  requests: number;
  cacheHits: number;
  /** Requests that looked in the cache and did not find their answer. */
  cacheMisses: number;
  /** Requests answered by joining an identical request (in flight or just finished): upstream calls saved. */
  dedupeJoins: number;
  /** Requests that had to wait in a rate-limit queue. */
  rateLimitQueued: number;
  /** Requests refused with 429 RATE_LIMITED after waiting. */
  rateLimitRejected: number;
  /** Failed upstream attempts (each retry and each failover counts). */
  upstreamErrors: number;
  failovers: number;
  /** Tokens sent to / received from backends (the answers' `usage`, else estimated). */
  tokensIn: number;
  tokensOut: number;
  /** What the upstream calls cost (0 unless a price function is wired). */
  costUsd: number;
  /** What the cache hits and dedupe joins would have cost upstream. */
  costSavedUsd: number;
  /** Requests answered with an error (any code, CANCELLED and RATE_LIMITED included). */
  errors: number;
  /** Tokens (in + out) that cache hits and dedupe joins did not spend upstream. */
  tokensSaved: number;
}

export type CounterField = keyof Counters;

/** Every field, in the documented order. */
export const COUNTER_FIELDS: readonly CounterField[] = [
  'requests',
  'cacheHits',
  'cacheMisses',
  'dedupeJoins',
  'rateLimitQueued',
  'rateLimitRejected',
  'upstreamErrors',
  'failovers',
  'tokensIn',
  'tokensOut',
  'costUsd',
  'costSavedUsd',
  'errors',
  'tokensSaved',
];

export function zeroCounters(): Counters {
  return {
    requests: 0,
    cacheHits: 0,
    cacheMisses: 0,
    dedupeJoins: 0,
    rateLimitQueued: 0,
    rateLimitRejected: 0,
    upstreamErrors: 0,
    failovers: 0,
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    costSavedUsd: 0,
    errors: 0,
    tokensSaved: 0,
  };
}

/** Adds `from` into `into` (fields missing in `from`, e.g. from an older roll-up, count as 0). */
export function addCounters(into: Counters, from: Partial<Counters>): Counters {
  for (const field of COUNTER_FIELDS) into[field] += from[field] ?? 0;
  return into;
}

/** A breakdown (`byAgent`, `byBackend`, `byModel`): label → counters. */
export type Breakdown = Record<string, Counters>;

/** An empty breakdown (no prototype: a label can never collide with an Object method). */
export function emptyBreakdown(): Breakdown {
  return Object.create(null) as Breakdown;
}

/** The counters of `label` in `breakdown`, created at zero on first use. */
export function countersOf(breakdown: Breakdown, label: string): Counters {
  let counters = breakdown[label];
  if (counters === undefined) {
    counters = zeroCounters();
    breakdown[label] = counters;
  }
  return counters;
}

/** Adds every entry of `from` into `into`. */
export function addBreakdown(into: Breakdown, from: Readonly<Record<string, Partial<Counters>>>): Breakdown {
  for (const [label, counters] of Object.entries(from)) addCounters(countersOf(into, label), counters);
  return into;
}
