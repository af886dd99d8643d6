/**
 * Properties of task-aware routing (`model: "auto"`, docs/routing.md):
 * - the router never picks a backend whose breaker is open (or that is down or out of quota), nor
 *   one whose context window is too small, while a candidate that fits and is healthy exists —
 *   on the ranking alone and end to end through the catalog, the classifier and the scorer;
 * - classification is deterministic: the same request gives the same class, whatever the order of
 *   the keys of the body and its messages;
 * - scoring is a total order, and the ranking does not depend on the order candidates come in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import type { CatalogEntry, TaskClass } from '../src/config/types.js';
import { NEARLY_EXHAUSTED_SCORE } from '../src/resilience/quota.js';
import { buildModelCatalog } from '../src/providers/catalog.js';
import { buildAutoRouting, planAutoRoute, type HealthReader } from '../src/routing/auto.js';
import { classifyRequest, TASK_CLASSES, type ClassifyInput } from '../src/routing/classify.js';
import { compareScored, rankCandidates, type BackendAvailability, type CandidateFacts, type ScoredCandidate } from '../src/routing/score.js';
import { buildRoutingTable } from '../src/routing/table.js';
import { backendConfig } from '../test/support/fixtures.js';

const AVAILABILITY: readonly BackendAvailability[] = ['closed', 'half_open', 'open', 'down'];

const weights = fc.record({
  task: fc.double({ min: 0, max: 10, noNaN: true }),
  quota: fc.double({ min: 0, max: 10, noNaN: true }),
  latency: fc.double({ min: 0, max: 10, noNaN: true }),
  cost: fc.double({ min: 0, max: 10, noNaN: true }),
  halfOpenPenalty: fc.double({ min: 0, max: 10, noNaN: true }),
});

/** Candidate facts with distinct config orders (as the router builds them). */
const candidates: fc.Arbitrary<CandidateFacts[]> = fc
  .array(
    fc.record({
      fit: fc.double({ min: 0, max: 1, noNaN: true }),
      fitsContext: fc.boolean(),
      availability: fc.constantFrom(...AVAILABILITY),
      quota: fc.oneof(fc.constant(1), fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
      latencyEwmaMs: fc.option(fc.double({ min: 0, max: 60_000, noNaN: true }), { nil: undefined }),
      blendedPricePerMTok: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((list) => list.map((facts, order) => ({ ...facts, order, target: { backendId: `b${order}`, model: 'm', name: `b${order}/m` } })));

const healthy = (c: Pick<CandidateFacts, 'availability' | 'quota'>) => (c.availability === 'closed' || c.availability === 'half_open') && c.quota > NEARLY_EXHAUSTED_SCORE;

describe('task routing: never a broken or too small backend while a good one exists', () => {
  it('on the ranking: the winner fits and is healthy whenever such a candidate exists', () => {
    fc.assert(
      fc.property(candidates, weights, (list, w) => {
        const ranked = rankCandidates(list, w);
        expect(ranked.length).toBeGreaterThan(0);
        const winner = list.find((c) => c.order === ranked[0]!.order)!;
        if (list.some((c) => c.fitsContext && healthy(c))) {
          expect(winner.fitsContext).toBe(true);
          expect(healthy(winner)).toBe(true);
        }
        // Too-small candidates are dropped while any fits; nothing is dropped otherwise.
        const anyFits = list.some((c) => c.fitsContext);
        expect(ranked.length).toBe(anyFits ? list.filter((c) => c.fitsContext).length : list.length);
        // Every healthy candidate comes before every unhealthy one.
        const tiers = ranked.map((r) => r.tier);
        expect([...tiers].sort()).toEqual(tiers);
      }),
      { numRuns: 500 },
    );
  });

  it('end to end: catalog windows, a classified prompt and live health', () => {
    const fleet = fc.record({
      models: fc.array(
        fc.record({
          window: fc.option(fc.constantFrom(2_000, 8_000, 32_000, 128_000, 1_000_000), { nil: undefined }),
          tasks: fc.subarray(['reasoning', 'code', 'general', 'long'] as TaskClass[], { minLength: 1 }),
          availability: fc.constantFrom(...AVAILABILITY),
          quota: fc.constantFrom(0, 0.03, 0.5, 1),
          latency: fc.option(fc.nat(30_000), { nil: undefined }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      promptTokens: fc.constantFrom(10, 1_500, 6_000, 20_000, 100_000, 500_000),
      hint: fc.option(fc.constantFrom('reasoning', 'code', 'general', 'long'), { nil: undefined }),
      listed: fc.array(fc.nat(7), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fleet, weights, ({ models, promptTokens, hint, listed }, w) => {
        const backends = models.map((_, i) => backendConfig(`b${i}`, [`model-${i}`]));
        const catalog: Record<string, CatalogEntry> = {};
        models.forEach((m, i) => (catalog[`model-${i}`] = { tasks: m.tasks, ...(m.window === undefined ? {} : { contextWindow: m.window }) }));
        const list = listed.filter((i) => i < models.length).map((i) => `b${i}/model-${i}`);
        const routing = { ...DEFAULTS.routing, weights: w, tasks: { ...DEFAULTS.routing.tasks, [hint ?? 'general']: list } };
        const config = { backends, routing, catalog };
        const table = buildRoutingTable(config);
        const auto = buildAutoRouting(config, table, buildModelCatalog(config));
        const index = (id: string) => Number(id.slice(1));
        const health: HealthReader = {
          availability: (id) => models[index(id)]!.availability,
          quota: (id) => models[index(id)]!.quota,
          latencyEwmaMs: (id) => models[index(id)]!.latency,
        };
        const request: ClassifyInput = {
          endpoint: 'chat.completions',
          body: { messages: [{ role: 'user', content: 'w'.repeat(promptTokens * 4) }] },
          taskHint: hint,
          agentType: undefined,
        };
        const plan = planAutoRoute(auto, request, health);
        expect(plan).toBeDefined();
        const needed = classifyRequest(request, auto.longPromptTokens).promptTokens;
        const fits = (i: number) => models[i]!.window === undefined || needed <= models[i]!.window!;
        const good = models.some((m, i) => fits(i) && healthy({ availability: m.availability, quota: m.quota }));
        const winner = index(plan!.target.backendId);
        if (good) {
          expect(fits(winner)).toBe(true);
          expect(healthy({ availability: models[winner]!.availability, quota: models[winner]!.quota })).toBe(true);
        }
        // The plan names each candidate once, the winner first.
        expect(plan!.candidates[0]).toBe(plan!.target);
        expect(new Set(plan!.candidates.map((t) => t.name)).size).toBe(plan!.candidates.length);
      }),
      { numRuns: 300 },
    );
  });
});

/** The same object with its keys (recursively, through arrays) in another order. */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reorder(v, seed + i + 1));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  // A deterministic shuffle from the seed (rotation then reversal on odd seeds).
  const k = entries.length === 0 ? 0 : seed % entries.length;
  let shuffled = [...entries.slice(k), ...entries.slice(0, k)];
  if (seed % 2 === 1) shuffled = shuffled.reverse();
  return Object.fromEntries(shuffled.map(([key, v]) => [key, reorder(v, seed * 31 + key.length)]));
}

const CUES = [
  'hello there',
  'Prove that',
  'step by step',
  '```js\nconsole.log(1)\n```',
  'def f(x):\n  return x',
  'Write a Python function',
  'what is the probability',
  '∑ x = 3',
  'import numpy as np',
  'a story about a cat',
  'SELECT a FROM t',
  'x'.repeat(5000),
];

const requests: fc.Arbitrary<ClassifyInput> = fc.record({
  endpoint: fc.constantFrom('chat.completions' as const, 'embeddings' as const),
  body: fc.record({
    model: fc.constantFrom('auto', ''),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    messages: fc.array(
      fc.record({
        role: fc.constantFrom('system', 'user', 'assistant'),
        content: fc.oneof(
          fc.array(fc.constantFrom(...CUES), { maxLength: 4 }).map((parts) => parts.join('\n')),
          fc.array(fc.record({ type: fc.constant('text'), text: fc.constantFrom(...CUES) }), { maxLength: 3 }),
        ),
        name: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
      }),
      { maxLength: 5 },
    ),
    input: fc.option(fc.constantFrom(...CUES), { nil: undefined }),
    max_tokens: fc.option(fc.nat(10_000), { nil: undefined }),
  }),
  taskHint: fc.option(fc.constantFrom('code', 'reasoning', 'general', 'long', 'Code ', ''), { nil: undefined }),
  agentType: fc.option(fc.constantFrom('coder', 'planner', 'sales', 'general'), { nil: undefined }),
});

describe('task classification is deterministic', () => {
  it('the same request gives the same class, whatever the order of its keys', () => {
    fc.assert(
      fc.property(requests, fc.nat(1000), fc.constantFrom(100, 2_000, 50_000), (request, seed, long) => {
        const first = classifyRequest(request, long);
        expect(classifyRequest(request, long)).toEqual(first);
        const shuffled = { ...request, body: reorder(request.body, seed) as Record<string, unknown> };
        expect(classifyRequest(shuffled, long)).toEqual(first);
        expect(TASK_CLASSES).toContain(first.task);
        if (request.endpoint === 'embeddings') expect(first.task).toBe('embeddings');
      }),
      { numRuns: 500 },
    );
  });
});

describe('scoring is a total order, stable under permutation', () => {
  it('ranking a permutation of the candidates gives the same order', () => {
    fc.assert(
      fc.property(
        candidates.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }))),
        weights,
        ([list, permuted], w) => {
          const names = (ranked: ScoredCandidate[]) => ranked.map((r) => r.target.name);
          expect(names(rankCandidates(permuted, w))).toEqual(names(rankCandidates(list, w)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('compareScored is antisymmetric, transitive and total over distinct candidates', () => {
    fc.assert(
      fc.property(candidates, weights, (list, w) => {
        const ranked = rankCandidates(list, w);
        for (const a of ranked) {
          expect(compareScored(a, a)).toBe(0);
          for (const b of ranked) {
            if (a !== b) expect(compareScored(a, b)).not.toBe(0);
            expect(Math.sign(compareScored(a, b))).toBe(0 - Math.sign(compareScored(b, a)) || 0);
            for (const c of ranked) {
              if (compareScored(a, b) < 0 && compareScored(b, c) < 0) expect(compareScored(a, c)).toBeLessThan(0);
            }
          }
        }
        // The ranking is sorted by it.
        for (let i = 1; i < ranked.length; i++) expect(compareScored(ranked[i - 1]!, ranked[i]!)).toBeLessThan(0);
      }),
      { numRuns: 200 },
    );
  });
});
