import { describe, expect, it } from 'vitest';
import type { BackendConfig, OptimizerConfig } from '../../src/config/types.js';
import { OptimizerError } from '../../src/errors/registry.js';
import { buildRoutingTable, candidatesFor, resolveRoute, type Route, type RouteQuery, type RoutingTable } from '../../src/routing/table.js';
import { backendConfig, thrown } from '../support/fixtures.js';

function table(backends: BackendConfig[], routing: Partial<OptimizerConfig['routing']> = {}): RoutingTable {
  return buildRoutingTable({ backends, routing: { aliases: {}, fallbacks: {}, defaultModel: '', ...routing } as OptimizerConfig['routing'] });
}

function resolve(t: RoutingTable, model: string | undefined, pinnedBackend?: string): Route {
  return resolveRoute(t, { model, pinnedBackend });
}

const fleet = () =>
  table(
    [
      backendConfig('groq', ['llama-3.3-70b-versatile', 'qwen-qwq-32b']),
      backendConfig('together', ['llama-3.3-70b-versatile', 'deepseek-v3']),
      backendConfig('openrouter', ['meta-llama/llama-3.3-70b', 'openai/gpt-4o']),
    ],
    { aliases: { fast: 'groq/llama-3.3-70b-versatile', big: 'openrouter/meta-llama/llama-3.3-70b' } },
  );

describe('buildRoutingTable', () => {
  it('indexes every backend/model name, bare model and backend in config order', () => {
    const t = fleet();
    expect([...t.byName.keys()]).toEqual([
      'groq/llama-3.3-70b-versatile',
      'groq/qwen-qwq-32b',
      'together/llama-3.3-70b-versatile',
      'together/deepseek-v3',
      'openrouter/meta-llama/llama-3.3-70b',
      'openrouter/openai/gpt-4o',
    ]);
    expect(t.byModel.get('llama-3.3-70b-versatile')?.map((x) => x.backendId)).toEqual(['groq', 'together']);
    expect(t.backends.get('openrouter')?.map((x) => x.model)).toEqual(['meta-llama/llama-3.3-70b', 'openai/gpt-4o']);
    expect(t.aliases.get('big')).toEqual({ backendId: 'openrouter', model: 'meta-llama/llama-3.3-70b', name: 'openrouter/meta-llama/llama-3.3-70b' });
  });

  it('drops an alias whose target is not configured (config validation reports it)', () => {
    const t = table([backendConfig('a', ['m'])], { aliases: { ghost: 'b/m' } });
    expect(t.aliases.has('ghost')).toBe(false);
  });

  it('defaults to the first backend’s first model when no default is configured', () => {
    expect(fleet().defaultTarget?.name).toBe('groq/llama-3.3-70b-versatile');
  });

  it('takes a configured default alias or backend/model', () => {
    const backends = [backendConfig('a', ['m1']), backendConfig('b', ['m2'])];
    expect(table(backends, { aliases: { pick: 'b/m2' }, defaultModel: 'pick' }).defaultTarget?.name).toBe('b/m2');
    expect(table(backends, { defaultModel: 'b/m2' }).defaultTarget?.name).toBe('b/m2');
  });

  it('has no default without backends', () => {
    expect(table([]).defaultTarget).toBeUndefined();
  });
});

describe('resolveRoute', () => {
  it('resolves an explicit backend/model', () => {
    expect(resolve(fleet(), 'together/llama-3.3-70b-versatile')).toEqual({
      target: { backendId: 'together', model: 'llama-3.3-70b-versatile', name: 'together/llama-3.3-70b-versatile' },
      reason: 'explicit',
    });
  });

  it('resolves an alias', () => {
    expect(resolve(fleet(), 'fast')).toEqual({ target: fleet().byName.get('groq/llama-3.3-70b-versatile'), reason: 'alias' });
  });

  it('resolves a bare model name to the first backend serving it, in config order', () => {
    const route = resolve(fleet(), 'llama-3.3-70b-versatile');
    expect(route.reason).toBe('model');
    expect(route.target.name).toBe('groq/llama-3.3-70b-versatile');
    expect(resolve(fleet(), 'deepseek-v3').target.backendId).toBe('together');
  });

  it.each([undefined, '', 'auto'])('takes the default route for model %j', (model) => {
    const route = resolve(fleet(), model);
    expect(route).toEqual({ target: fleet().defaultTarget, reason: 'default' });
    expect(route.target.name).toBe('groq/llama-3.3-70b-versatile');
  });

  it('takes a configured default (alias or backend/model) for auto', () => {
    const backends = [backendConfig('a', ['m1']), backendConfig('b', ['m2', 'm3'])];
    expect(resolve(table(backends, { aliases: { pick: 'b/m3' }, defaultModel: 'pick' }), 'auto').target.name).toBe('b/m3');
    expect(resolve(table(backends, { defaultModel: 'b/m2' }), undefined).target.name).toBe('b/m2');
  });

  describe('model ids containing slashes (OpenRouter)', () => {
    it('splits backend id and model at the first slash', () => {
      expect(resolve(fleet(), 'openrouter/meta-llama/llama-3.3-70b')).toEqual({
        target: { backendId: 'openrouter', model: 'meta-llama/llama-3.3-70b', name: 'openrouter/meta-llama/llama-3.3-70b' },
        reason: 'explicit',
      });
    });

    it('resolves the bare OpenRouter model id', () => {
      const route = resolve(fleet(), 'meta-llama/llama-3.3-70b');
      expect(route.reason).toBe('model');
      expect(route.target).toEqual({ backendId: 'openrouter', model: 'meta-llama/llama-3.3-70b', name: 'openrouter/meta-llama/llama-3.3-70b' });
    });

    it('resolves an alias to a slashed model', () => {
      expect(resolve(fleet(), 'big').target.model).toBe('meta-llama/llama-3.3-70b');
    });

    it('does not mistake a provider prefix for a backend id', () => {
      // `meta-llama` is not a backend: the name is OpenRouter's bare model id.
      expect(thrown(() => resolve(fleet(), 'meta-llama/other')).code).toBe('MODEL_NOT_FOUND');
    });
  });

  describe('pinned backend (x-backend)', () => {
    it('with auto (or no model) takes the pinned backend’s first model', () => {
      for (const model of [undefined, '', 'auto']) {
        expect(resolve(fleet(), model, 'together')).toEqual({ target: fleet().byName.get('together/llama-3.3-70b-versatile'), reason: 'pinned' });
      }
    });

    it('with a bare model it serves: that backend, even when an earlier backend serves it too', () => {
      const route = resolve(fleet(), 'llama-3.3-70b-versatile', 'together');
      expect(route).toEqual({ target: fleet().byName.get('together/llama-3.3-70b-versatile'), reason: 'pinned' });
    });

    it('with a bare model that only the pinned backend serves', () => {
      expect(resolve(fleet(), 'deepseek-v3', 'together')).toEqual({ target: fleet().byName.get('together/deepseek-v3'), reason: 'pinned' });
    });

    it('with an explicit name of another backend that it also serves: the same model on the pinned backend', () => {
      expect(resolve(fleet(), 'groq/llama-3.3-70b-versatile', 'together')).toEqual({
        target: fleet().byName.get('together/llama-3.3-70b-versatile'),
        reason: 'pinned',
      });
    });

    it('with an alias whose model the pinned backend also serves', () => {
      expect(resolve(fleet(), 'fast', 'together')).toEqual({ target: fleet().byName.get('together/llama-3.3-70b-versatile'), reason: 'pinned' });
    });

    it('with its own explicit name keeps the explicit reason', () => {
      expect(resolve(fleet(), 'together/deepseek-v3', 'together').reason).toBe('explicit');
    });

    it('with a model it does not serve: MODEL_NOT_FOUND on param model', () => {
      for (const model of ['qwen-qwq-32b', 'groq/qwen-qwq-32b', 'openrouter/openai/gpt-4o']) {
        const error = thrown(() => resolve(fleet(), model, 'together'));
        expect(error.code).toBe('MODEL_NOT_FOUND');
        expect(error.status).toBe(404);
        expect(error.param).toBe('model');
        expect(error.details).toEqual({ model, backend: 'together' });
      }
    });

    it('naming no configured backend: BACKEND_NOT_FOUND, whatever the model', () => {
      for (const model of [undefined, 'auto', 'groq/qwen-qwq-32b', 'nope']) {
        const error = thrown(() => resolve(fleet(), model, 'mistral'));
        expect(error.code).toBe('BACKEND_NOT_FOUND');
        expect(error.status).toBe(404);
        expect(error.details).toEqual({ backend: 'mistral' });
      }
    });

    it('is case-sensitive (backend ids are lower case)', () => {
      expect(thrown(() => resolve(fleet(), 'auto', 'Groq')).code).toBe('BACKEND_NOT_FOUND');
    });
  });

  it('rejects an unknown model with MODEL_NOT_FOUND on param model', () => {
    const error = thrown(() => resolve(fleet(), 'gpt-17'));
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.status).toBe(404);
    expect(error.param).toBe('model');
    expect(error.details).toEqual({ model: 'gpt-17' });
    expect(error.message).toContain("'gpt-17'");
  });

  it('does not resolve a name that only looks like backend/model', () => {
    expect(thrown(() => resolve(fleet(), 'groq/deepseek-v3')).code).toBe('MODEL_NOT_FOUND');
    expect(thrown(() => resolve(fleet(), 'groq/')).code).toBe('MODEL_NOT_FOUND');
  });

  it('without backends: auto answers NO_BACKENDS (503), a named model MODEL_NOT_FOUND', () => {
    const empty = table([]);
    for (const model of [undefined, '', 'auto']) {
      const error = thrown(() => resolve(empty, model));
      expect(error.code).toBe('NO_BACKENDS');
      expect(error.status).toBe(503);
    }
    expect(thrown(() => resolve(empty, 'gpt-4o')).code).toBe('MODEL_NOT_FOUND');
  });

  it('an explicit backend/model wins over a bare model id of the same spelling', () => {
    // OpenRouter serves `openai/gpt-4o`; a backend called `openai` serves `gpt-4o`.
    const t = table([backendConfig('openrouter', ['openai/gpt-4o']), backendConfig('openai', ['gpt-4o'])]);
    expect(resolve(t, 'openai/gpt-4o').target.name).toBe('openai/gpt-4o');
    expect(resolve(t, 'openrouter/openai/gpt-4o').target.backendId).toBe('openrouter');
  });

  it('regression: a pinned backend serves its own model id even when that id spells another backend’s explicit name', () => {
    // OpenRouter serves `openai/gpt-4o`; a backend called `openai` serves `gpt-4o`. The client
    // pins OpenRouter and asks for OpenRouter's own model id: OpenRouter serves exactly that.
    const t = table([backendConfig('openrouter', ['openai/gpt-4o']), backendConfig('openai', ['gpt-4o'])]);
    const query: RouteQuery = { model: 'openai/gpt-4o', pinnedBackend: 'openrouter' };
    expect(() => resolveRoute(t, query)).not.toThrow();
    expect(resolveRoute(t, query).target.name).toBe('openrouter/openai/gpt-4o');
  });
});

describe('candidatesFor', () => {
  const fleet = () =>
    table([backendConfig('a', ['m', 'x']), backendConfig('b', ['m']), backendConfig('c', ['m', 'y']), backendConfig('d', ['z'])], {
      aliases: { fast: 'a/m' },
      fallbacks: { fast: ['d/z', 'b/m'], 'c/y': ['a/x'] },
    });

  it('tries the chosen target, then the same model elsewhere, then the fallbacks, each once', () => {
    const t = fleet();
    expect(candidatesFor(t, resolve(t, 'fast')).map((c) => c.name)).toEqual(['a/m', 'b/m', 'c/m', 'd/z']);
    expect(candidatesFor(t, resolve(t, 'c/y')).map((c) => c.name)).toEqual(['c/y', 'a/x']);
    expect(candidatesFor(t, resolve(t, 'b/m')).map((c) => c.name)).toEqual(['b/m', 'a/m', 'c/m']);
  });

  it('a pinned route has no alternatives', () => {
    const t = fleet();
    expect(candidatesFor(t, resolve(t, 'm', 'c')).map((c) => c.name)).toEqual(['c/m']);
  });

  it('are computed once per target and table, and cannot be changed by whoever gets them', () => {
    const t = fleet();
    const first = candidatesFor(t, resolve(t, 'fast'));
    expect(candidatesFor(t, resolve(t, 'a/m'))).toBe(first); // the same target, another name for it
    expect(Object.isFrozen(first)).toBe(true);
    // Another table (another config) answers for itself.
    const other = table([backendConfig('a', ['m']), backendConfig('b', ['m'])]);
    expect(candidatesFor(other, resolve(other, 'a/m')).map((c) => c.name)).toEqual(['a/m', 'b/m']);
  });
});

describe('candidatesFor with a pin', () => {
  it('regression: an explicit name on the pinned backend keeps the pin (no failover elsewhere)', () => {
    const t = table([backendConfig('a', ['m']), backendConfig('b', ['m'])]);
    const route = resolve(t, 'a/m', 'a');
    expect(route.reason).toBe('explicit');
    expect(candidatesFor(t, route, true).map((c) => c.name)).toEqual(['a/m']);
  });
});
