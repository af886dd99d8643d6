import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/defaults.js';
import {
  blendedPrice,
  compareScored,
  costScore,
  latencyScore,
  rankCandidates,
  scoreOf,
  UNKNOWN_PRICE_SCORE,
  type CandidateFacts,
} from '../../src/routing/score.js';

const weights = DEFAULTS.routing.weights;

function facts(name: string, order: number, extra: Partial<CandidateFacts> = {}): CandidateFacts {
  const [backendId, model] = name.split('/') as [string, string];
  return {
    target: { backendId, model, name },
    order,
    fit: 0.5,
    fitsContext: true,
    availability: 'closed',
    quota: 1,
    latencyEwmaMs: undefined,
    blendedPricePerMTok: undefined,
    ...extra,
  };
}

const names = (ranked: { target: { name: string } }[]) => ranked.map((r) => r.target.name);

describe('score terms', () => {
  it('latency: 1 up to the reference (or unmeasured), then reference / latency, rounded', () => {
    expect(latencyScore(undefined)).toBe(1);
    expect(latencyScore(3)).toBe(1);
    expect(latencyScore(500)).toBe(1);
    expect(latencyScore(1000)).toBe(0.5);
    expect(latencyScore(3000)).toBe(0.17);
    expect(latencyScore(Number.NaN)).toBe(1);
  });

  it('cost: 1 when free, 0.5 at $1/MTok blended, neutral when unknown', () => {
    expect(costScore(0)).toBe(1);
    expect(costScore(1)).toBe(0.5);
    expect(costScore(9)).toBe(0.1);
    expect(costScore(undefined)).toBe(UNKNOWN_PRICE_SCORE);
    expect(costScore(Number.POSITIVE_INFINITY)).toBe(UNKNOWN_PRICE_SCORE);
  });

  it('blends prices 3 input : 1 output', () => {
    expect(blendedPrice(3, 15)).toBe(6);
    expect(blendedPrice(0.56, 1.68)).toBeCloseTo(0.84, 10);
  });

  it('adds the weighted terms and subtracts the half-open penalty', () => {
    const base = facts('a/m', 0, { fit: 1, quota: 0.5, latencyEwmaMs: 1000, blendedPricePerMTok: 1 });
    expect(scoreOf(base, weights)).toBe(4 * 1 + 0.5 + 0.5 + 0.5);
    expect(scoreOf({ ...base, availability: 'half_open' }, weights)).toBe(5.5 - 2);
    expect(scoreOf(base, { task: 1, quota: 0, latency: 0, cost: 0, halfOpenPenalty: 0 })).toBe(1);
  });

  it('clamps fit and quota into [0, 1] and treats NaN as 0', () => {
    expect(scoreOf(facts('a/m', 0, { fit: 7, quota: Number.NaN }), weights)).toBe(4 + 0 + 1 + UNKNOWN_PRICE_SCORE);
  });
});

describe('rankCandidates', () => {
  it('orders by score, then config order', () => {
    const ranked = rankCandidates([facts('a/m', 0, { fit: 0.5 }), facts('b/m', 1, { fit: 0.9 }), facts('c/m', 2, { fit: 0.5 })], weights);
    expect(names(ranked)).toEqual(['b/m', 'a/m', 'c/m']);
  });

  it('ignores latency noise under the reference (no flapping between equal backends)', () => {
    const ranked = rankCandidates([facts('a/m', 0, { latencyEwmaMs: 4.2 }), facts('b/m', 1, { latencyEwmaMs: 1.1 })], weights);
    expect(names(ranked)).toEqual(['a/m', 'b/m']);
  });

  it('puts open and down backends last, whatever their score', () => {
    const ranked = rankCandidates(
      [facts('open/m', 0, { fit: 1, availability: 'open' }), facts('down/m', 1, { fit: 1, availability: 'down' }), facts('weak/m', 2, { fit: 0, quota: 0.1 })],
      weights,
    );
    expect(names(ranked)).toEqual(['weak/m', 'open/m', 'down/m']);
    expect(ranked.map((r) => r.tier)).toEqual([0, 1, 1]);
  });

  it('puts a backend whose quota is (nearly) exhausted with the open ones', () => {
    const ranked = rankCandidates([facts('empty/m', 0, { fit: 1, quota: 0.05 }), facts('open/m', 1, { fit: 1, availability: 'open' }), facts('ok/m', 2, { fit: 0 })], weights);
    expect(names(ranked)).toEqual(['ok/m', 'open/m', 'empty/m']); // tier 1 in score order
  });

  it('penalises a half-open backend but keeps it before an open one', () => {
    const ranked = rankCandidates(
      [facts('half/m', 0, { fit: 1, availability: 'half_open' }), facts('ok/m', 1, { fit: 0.8 }), facts('open/m', 2, { fit: 1, availability: 'open' })],
      weights,
    );
    expect(names(ranked)).toEqual(['ok/m', 'half/m', 'open/m']);
  });

  it('drops the candidates whose context is too small while one fits', () => {
    const ranked = rankCandidates([facts('small/m', 0, { fit: 1, fitsContext: false }), facts('big/m', 1, { fit: 0.1 })], weights);
    expect(names(ranked)).toEqual(['big/m']);
    // Even when the one that fits is open: it is kept (last resort), the small one is not.
    const open = rankCandidates([facts('small/m', 0, { fitsContext: false }), facts('big/m', 1, { availability: 'open' })], weights);
    expect(names(open)).toEqual(['big/m']);
  });

  it('keeps every candidate when none fits (the estimate may be pessimistic)', () => {
    const ranked = rankCandidates([facts('a/m', 0, { fitsContext: false, availability: 'open' }), facts('b/m', 1, { fitsContext: false })], weights);
    expect(names(ranked)).toEqual(['b/m', 'a/m']);
  });

  it('prefers quota left and cheaper models when the task fit is equal', () => {
    expect(names(rankCandidates([facts('a/m', 0, { quota: 0.1 }), facts('b/m', 1, { quota: 0.9 })], weights))).toEqual(['b/m', 'a/m']);
    expect(names(rankCandidates([facts('a/m', 0, { blendedPricePerMTok: 6 }), facts('b/m', 1, { blendedPricePerMTok: 0 })], weights))).toEqual(['b/m', 'a/m']);
  });

  it('compareScored is a total order with config order as the last key', () => {
    const a = { target: { backendId: 'a', model: 'm', name: 'a/m' }, order: 0, tier: 0 as const, score: 1 };
    const b = { ...a, target: { ...a.target, name: 'b/m' }, order: 1 };
    expect(compareScored(a, b)).toBeLessThan(0);
    expect(compareScored(b, a)).toBeGreaterThan(0);
    expect(compareScored(a, a)).toBe(0);
  });
});
