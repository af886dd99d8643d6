/**
 * Scoring of `model: "auto"` candidates (docs/routing.md). Pure: everything live (breaker state,
 * quota, latency) comes in as arguments, so the same inputs always give the same order.
 *
 *     score = w.task·fit + w.quota·quota + w.latency·latency + w.cost·cost − (half-open ? w.halfOpenPenalty : 0)
 *
 * each term in [0, 1] and rounded to 2 decimals, so that noise (a latency of 3 ms vs 4 ms) never
 * reorders candidates. Candidates are ranked by tier, then score (higher first), then config order:
 * - tier 0: the prompt fits the context window and the backend can take calls (breaker closed or
 *   half-open, quota above NEARLY_EXHAUSTED_SCORE);
 * - tier 1: the prompt fits, but the breaker is open, the backend is down, or its quota is (nearly)
 *   exhausted (kept last, for failover once it has recovered: delivery asks the breaker again
 *   before each call, and moves nearly exhausted backends last as well);
 * - a candidate whose context window is too small is dropped while any candidate fits (all are kept,
 *   tiered 0/1 the same way, when none fits: the estimate may be pessimistic).
 */
import type { RoutingWeights } from '../config/types.js';
import { NEARLY_EXHAUSTED_SCORE } from '../resilience/quota.js';
import type { RouteTarget } from './table.js';

/** A backend's state as the router sees it when it ranks candidates. */
export type BackendAvailability = 'closed' | 'half_open' | 'open' | 'down';

/** Everything a candidate's score depends on. */
export interface CandidateFacts {
  target: RouteTarget;
  /** Position in the configuration (backends, then their models): the last tie-breaker. */
  order: number;
  /** Fit with the request's task, 0–1 (src/routing/auto.ts). */
  fit: number;
  /** Whether the estimated prompt (plus the answer asked for) fits the model's context window. */
  fitsContext: boolean;
  availability: BackendAvailability;
  /** Remaining quota share, 0–1 (src/resilience/quota.ts `quotaScore`). */
  quota: number;
  /** The backend's latency EWMA in ms; undefined before its first call. */
  latencyEwmaMs: number | undefined;
  /** Blended USD per million tokens; undefined when the catalog has no price. */
  blendedPricePerMTok: number | undefined;
}

export interface ScoredCandidate {
  target: RouteTarget;
  order: number;
  tier: 0 | 1;
  score: number;
}

/** Latency at or under this scores 1; above it the score falls as REFERENCE / latency. */
export const LATENCY_REFERENCE_MS = 500;
/** A blended price of this many USD per million tokens scores 0.5. */
export const PRICE_REFERENCE_PER_MTOK = 1;
/** Cost score of a model without a known price: as if it cost the reference price. */
export const UNKNOWN_PRICE_SCORE = 0.5;

/** Input tokens per output token assumed when blending a price (agents send long prompts). */
const BLEND_INPUT_SHARE = 0.75;

/** USD per million tokens of a typical request mix (3 input : 1 output). */
export function blendedPrice(inputPerMTok: number, outputPerMTok: number): number {
  return BLEND_INPUT_SHARE * inputPerMTok + (1 - BLEND_INPUT_SHARE) * outputPerMTok;
}

/** 1 at or under LATENCY_REFERENCE_MS (or unmeasured), then REFERENCE / latency. */
export function latencyScore(latencyEwmaMs: number | undefined): number {
  if (latencyEwmaMs === undefined || !(latencyEwmaMs > LATENCY_REFERENCE_MS)) return 1;
  return round2(LATENCY_REFERENCE_MS / latencyEwmaMs);
}

/** REFERENCE / (REFERENCE + price): 1 for free (local) models, 0.5 at the reference price. */
export function costScore(blendedPricePerMTok: number | undefined): number {
  if (blendedPricePerMTok === undefined || !Number.isFinite(blendedPricePerMTok) || blendedPricePerMTok < 0) return UNKNOWN_PRICE_SCORE;
  return round2(PRICE_REFERENCE_PER_MTOK / (PRICE_REFERENCE_PER_MTOK + blendedPricePerMTok));
}

/** The score of one candidate (its tier is decided by {@link rankCandidates}). */
export function scoreOf(facts: CandidateFacts, weights: RoutingWeights): number {
  const score =
    weights.task * round2(clamp01(facts.fit)) +
    weights.quota * round2(clamp01(facts.quota)) +
    weights.latency * latencyScore(facts.latencyEwmaMs) +
    weights.cost * costScore(facts.blendedPricePerMTok) -
    (facts.availability === 'half_open' ? weights.halfOpenPenalty : 0);
  // Rounded again so that sums of rounded terms compare equal when they are equal on paper.
  return Math.round(score * 1e6) / 1e6;
}

/** Total order: tier, then score (higher first), then config order. */
export function compareScored(a: ScoredCandidate, b: ScoredCandidate): number {
  return a.tier - b.tier || b.score - a.score || a.order - b.order;
}

/**
 * The candidates to try, best first: those whose context window is too small dropped while any
 * fits, the rest ranked by {@link compareScored}. The order does not depend on the input's order
 * (given distinct `order`s).
 */
export function rankCandidates(candidates: readonly CandidateFacts[], weights: RoutingWeights): ScoredCandidate[] {
  const anyFits = candidates.some((c) => c.fitsContext);
  const ranked: ScoredCandidate[] = [];
  for (const facts of candidates) {
    if (anyFits && !facts.fitsContext) continue;
    const usable = (facts.availability === 'closed' || facts.availability === 'half_open') && facts.quota > NEARLY_EXHAUSTED_SCORE;
    ranked.push({ target: facts.target, order: facts.order, tier: usable ? 0 : 1, score: scoreOf(facts, weights) });
  }
  return ranked.sort(compareScored);
}

function clamp01(value: number): number {
  return Number.isNaN(value) ? 0 : Math.min(1, Math.max(0, value));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
