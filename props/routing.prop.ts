/**
 * Properties of route resolution: whatever the fleet (backends sharing models, OpenRouter-style
 * model ids with slashes, model ids that spell another backend's `id/model`), aliases, default and
 * pin, resolution is deterministic, every route it returns is a configured (backend, model) pair,
 * and a pin is honoured: the route is on the pinned backend or resolution fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BackendConfig, RoutingConfig } from '../src/config/types.js';
import { OptimizerError } from '../src/errors/registry.js';
import { buildRoutingTable, resolveRoute, type Route, type RouteQuery, type RoutingTable } from '../src/routing/table.js';
import { backendConfig } from '../test/support/fixtures.js';

const BACKEND_IDS = ['a', 'b', 'groq', 'openrouter'] as const;
/** Includes ids that collide with `backend/model` names (`a/m1`, `groq/m2`). */
const MODEL_IDS = ['m1', 'm2', 'meta-llama/llama-3.3-70b', 'a/m1', 'groq/m2', 'auto-ish'] as const;

interface Fleet {
  backends: BackendConfig[];
  routing: Pick<RoutingConfig, 'aliases' | 'fallbacks' | 'defaultModel'>;
}

const fleet: fc.Arbitrary<Fleet> = fc
  .uniqueArray(
    fc.record({ id: fc.constantFrom(...BACKEND_IDS), models: fc.uniqueArray(fc.constantFrom(...MODEL_IDS), { minLength: 1, maxLength: 4 }) }),
    { selector: (b) => b.id, maxLength: BACKEND_IDS.length },
  )
  .chain((specs) => {
    const backends = specs.map((s) => backendConfig(s.id, s.models));
    const names = backends.flatMap((b) => b.models.map((m) => `${b.id}/${m}`));
    const name = names.length > 0 ? fc.constantFrom(...names) : fc.constant('none/none');
    const aliases = fc.dictionary(fc.constantFrom('fast', 'smart', 'cheap'), name, { maxKeys: 3 });
    return aliases.chain((aliasMap) => {
      const defaults = [...names, ...Object.keys(aliasMap)];
      const defaultModel = defaults.length > 0 ? fc.oneof(fc.constant(''), fc.constantFrom(...defaults)) : fc.constant('');
      return defaultModel.map((d): Fleet => ({ backends, routing: { aliases: aliasMap, fallbacks: {}, defaultModel: d } }));
    });
  });

/** Model names a client might send: configured names, bare ids, aliases, auto, and unknowns. */
function queryFor(f: Fleet): fc.Arbitrary<RouteQuery> {
  const names = f.backends.flatMap((b) => b.models.map((m) => `${b.id}/${m}`));
  const model = fc.option(
    fc.constantFrom(...names, ...MODEL_IDS, ...Object.keys(f.routing.aliases), 'auto', '', 'unknown', 'nobackend/m1', 'smart'),
    { nil: undefined },
  );
  const pinnedBackend = fc.option(fc.constantFrom(...BACKEND_IDS, 'mistral'), { nil: undefined });
  return fc.record({ model, pinnedBackend });
}

type Outcome = { route: Route } | { code: string; param: string | undefined };

function outcome(table: RoutingTable, query: RouteQuery): Outcome {
  try {
    return { route: resolveRoute(table, query) };
  } catch (error) {
    if (!(error instanceof OptimizerError)) throw error;
    return { code: error.code, param: error.param };
  }
}

const withQueries = fleet.chain((f) => fc.tuple(fc.constant(f), fc.array(queryFor(f), { minLength: 1, maxLength: 8 })));

describe('routing properties', () => {
  it('is deterministic: the same table and query give the same route or error, also from a rebuilt table', () => {
    fc.assert(
      fc.property(withQueries, ([f, queries]) => {
        const table = buildRoutingTable(f);
        const rebuilt = buildRoutingTable(f);
        for (const query of queries) {
          const first = outcome(table, query);
          expect(outcome(table, query)).toEqual(first);
          expect(outcome(rebuilt, query)).toEqual(first);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('every route is a configured (backend, model) pair, and a pin is honoured', () => {
    fc.assert(
      fc.property(withQueries, ([f, queries]) => {
        const table = buildRoutingTable(f);
        const served = new Map(f.backends.map((b) => [b.id, new Set(b.models)]));
        for (const query of queries) {
          const result = outcome(table, query);
          if (!('route' in result)) {
            expect(['MODEL_NOT_FOUND', 'BACKEND_NOT_FOUND', 'NO_BACKENDS']).toContain(result.code);
            if (result.code === 'MODEL_NOT_FOUND') expect(result.param).toBe('model');
            if (result.code === 'BACKEND_NOT_FOUND') expect(served.has(query.pinnedBackend ?? '')).toBe(false);
            continue;
          }
          const { target } = result.route;
          expect(served.get(target.backendId)?.has(target.model)).toBe(true);
          expect(target.name).toBe(`${target.backendId}/${target.model}`);
          if (query.pinnedBackend !== undefined) expect(target.backendId).toBe(query.pinnedBackend);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('every configured backend/model name resolves to itself, pinned to its backend or not', () => {
    fc.assert(
      fc.property(fleet, (f) => {
        const table = buildRoutingTable(f);
        for (const b of f.backends) {
          for (const model of b.models) {
            const name = `${b.id}/${model}`;
            expect(resolveRoute(table, { model: name, pinnedBackend: undefined })).toEqual({ target: { backendId: b.id, model, name }, reason: 'explicit' });
            expect(resolveRoute(table, { model: name, pinnedBackend: b.id }).target.name).toBe(name);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('auto without a pin resolves whenever a backend is configured', () => {
    fc.assert(
      fc.property(fleet, (f) => {
        const result = outcome(buildRoutingTable(f), { model: 'auto', pinnedBackend: undefined });
        if (f.backends.length === 0) expect(result).toEqual({ code: 'NO_BACKENDS', param: undefined });
        else expect('route' in result && result.route.reason).toBe('default');
      }),
      { numRuns: 200 },
    );
  });
});
