import { describe, expect, it } from 'vitest';
import type { BackendConfig } from '../../src/config/types.js';
import { BUILTIN_CATALOG } from '../../src/providers/catalog-data.js';
import { builtinEntry, buildModelCatalog, costUsd, ModelCatalog, priceOf } from '../../src/providers/catalog.js';
import { TASK_CLASSES } from '../../src/routing/classify.js';

const backends: Pick<BackendConfig, 'id' | 'provider'>[] = [
  { id: 'deepseek', provider: 'deepseek' },
  { id: 'groq', provider: 'groq' },
  { id: 'openrouter', provider: 'openrouter' },
  { id: 'ollama', provider: 'ollama' },
  { id: 'gpu', provider: 'vllm' },
  { id: 'studio', provider: 'lmstudio' },
  { id: 'custom', provider: 'openai-compatible' },
];

describe('built-in catalog data', () => {
  it('keys are lower case and every entry is well formed', () => {
    for (const [id, entry] of Object.entries(BUILTIN_CATALOG)) {
      expect(id, id).toBe(id.toLowerCase());
      if (entry.contextWindow !== undefined) expect(Number.isInteger(entry.contextWindow) && entry.contextWindow > 0, id).toBe(true);
      for (const price of [entry.inputPerMTok, entry.outputPerMTok]) if (price !== undefined) expect(price, id).toBeGreaterThanOrEqual(0);
      expect(entry.tasks?.length, id).toBeGreaterThan(0);
      for (const task of entry.tasks ?? []) expect(TASK_CLASSES, id).toContain(task);
    }
  });

  it('has the Anthropic and Gemini models by id, ready for their adapters', () => {
    expect(builtinEntry('claude-sonnet-4-5-20250929')).toMatchObject({ inputPerMTok: 3, outputPerMTok: 15, contextWindow: 200_000 });
    expect(builtinEntry('claude-opus-4-5-20251101')).toMatchObject({ inputPerMTok: 5, outputPerMTok: 25 });
    expect(builtinEntry('gemini-2.5-flash')).toMatchObject({ inputPerMTok: 0.3, outputPerMTok: 2.5, contextWindow: 1_048_576 });
    expect(builtinEntry('gemini-2.5-flash-preview-09-2025')).toBe(BUILTIN_CATALOG['gemini-2.5-flash']);
  });
});

describe('builtinEntry lookup', () => {
  it('finds the exact id, case-insensitively', () => {
    expect(builtinEntry('deepseek-reasoner')).toBe(BUILTIN_CATALOG['deepseek-reasoner']);
    expect(builtinEntry('GPT-4o')).toBe(BUILTIN_CATALOG['gpt-4o']);
  });

  it('falls back to the last path segment (org/model ids of aggregators)', () => {
    expect(builtinEntry('openai/gpt-oss-120b')).toBe(BUILTIN_CATALOG['gpt-oss-120b']);
    expect(builtinEntry('meta-llama/Llama-3.3-70B-Instruct-Turbo')).toBe(BUILTIN_CATALOG['llama-3.3-70b-instruct-turbo']);
    expect(builtinEntry('togethercomputer/m2-bert-80M-8k-retrieval')?.tasks).toEqual(['embeddings']);
  });

  it('then takes the longest family prefix ending at a boundary', () => {
    expect(builtinEntry('gpt-4o-mini-2024-07-18')).toBe(BUILTIN_CATALOG['gpt-4o-mini']);
    expect(builtinEntry('llama3.2:3b')).toBe(BUILTIN_CATALOG['llama3.2']);
    expect(builtinEntry('kimi-k2-0905-preview')).toBe(BUILTIN_CATALOG['kimi-k2']);
    expect(builtinEntry('grok-4-0709')).toBe(BUILTIN_CATALOG['grok-4']);
    // `o3` is not the family of `o3x`, nor `gpt-4` of `gpt-4o` (no boundary after the prefix).
    expect(builtinEntry('o3x')).toBeUndefined();
    expect(builtinEntry('gpt-4')).toBeUndefined();
    expect(builtinEntry('totally-unknown')).toBeUndefined();
  });
});

describe('ModelCatalog', () => {
  it('gives built-in prices on a cloud backend', () => {
    const catalog = new ModelCatalog(backends);
    expect(priceOf(catalog, 'deepseek', 'deepseek-reasoner')).toEqual({ inputPerMTok: 0.56, outputPerMTok: 1.68 });
    expect(catalog.infoOf('deepseek', 'deepseek-reasoner')).toMatchObject({ priceSource: 'builtin', contextWindow: 128_000, tasks: ['reasoning'] });
  });

  it('prices local backends (vllm, ollama, lmstudio) at 0 whatever the built-in table says', () => {
    const catalog = new ModelCatalog(backends);
    for (const id of ['ollama', 'gpu', 'studio']) {
      expect(priceOf(catalog, id, 'gpt-oss-120b')).toEqual({ inputPerMTok: 0, outputPerMTok: 0 });
      expect(catalog.infoOf(id, 'gpt-oss-120b').priceSource).toBe('local');
      // The context window and tasks still come from the table.
      expect(catalog.infoOf(id, 'gpt-oss-120b').contextWindow).toBe(131_072);
    }
  });

  it('knows no price for an unknown model on a cloud or custom backend', () => {
    const catalog = new ModelCatalog(backends);
    expect(priceOf(catalog, 'custom', 'my-model')).toBeUndefined();
    expect(catalog.infoOf('custom', 'my-model')).toEqual({ contextWindow: undefined, price: undefined, priceSource: undefined, tasks: ['general'] });
    expect(priceOf(catalog, 'no-such-backend', 'my-model')).toBeUndefined();
  });

  it('guesses embedding models by their id when the table has no entry', () => {
    const catalog = new ModelCatalog(backends);
    for (const model of ['bge-m3', 'mxbai-embed-large', 'text-embedding-ada-002', 'e5-large-v2', 'all-MiniLM-L6-v2']) {
      expect(catalog.infoOf('custom', model).tasks, model).toEqual(['embeddings']);
    }
    for (const model of ['llama-embedded-chat-x', 'gte', 'gtest-7b', 'codellama']) {
      // Only whole words count: `gte` alone is an embedding family; `embedded` and `gtest` are not.
      expect(catalog.infoOf('custom', model).tasks, model).toEqual(model === 'gte' ? ['embeddings'] : ['general']);
    }
  });

  it('lets the config override field by field, backend/model over the bare model id, config over local 0', () => {
    const catalog = new ModelCatalog(backends, {
      'deepseek-reasoner': { inputPerMTok: 1, outputPerMTok: 2, tasks: ['reasoning', 'code'] },
      'deepseek/deepseek-reasoner': { contextWindow: 64_000 },
      'ollama/llama3.2': { inputPerMTok: 0.01 },
      'my-model': { contextWindow: 4096, tasks: ['code'] },
    });
    expect(catalog.infoOf('deepseek', 'deepseek-reasoner')).toEqual({
      contextWindow: 64_000,
      price: { inputPerMTok: 1, outputPerMTok: 2 },
      priceSource: 'config',
      tasks: ['reasoning', 'code'],
    });
    // A backend/model entry applies to that backend only.
    expect(catalog.infoOf('openrouter', 'deepseek-reasoner').contextWindow).toBe(128_000);
    // A price part left out counts 0 (an embedding model's output).
    expect(priceOf(catalog, 'ollama', 'llama3.2')).toEqual({ inputPerMTok: 0.01, outputPerMTok: 0 });
    expect(catalog.infoOf('custom', 'my-model')).toMatchObject({ contextWindow: 4096, price: undefined, tasks: ['code'] });
  });

  it('a backend/model price beats a bare price', () => {
    const catalog = buildModelCatalog({
      backends: backends as BackendConfig[],
      catalog: { 'gpt-oss-120b': { inputPerMTok: 9, outputPerMTok: 9 }, 'groq/gpt-oss-120b': { inputPerMTok: 0.15, outputPerMTok: 0.75 } },
    });
    expect(priceOf(catalog, 'groq', 'gpt-oss-120b')).toEqual({ inputPerMTok: 0.15, outputPerMTok: 0.75 });
    expect(priceOf(catalog, 'deepseek', 'gpt-oss-120b')).toEqual({ inputPerMTok: 9, outputPerMTok: 9 });
  });

  it('answers the same object for the same pair (computed once)', () => {
    const catalog = new ModelCatalog(backends);
    expect(catalog.infoOf('groq', 'llama-3.1-8b-instant')).toBe(catalog.infoOf('groq', 'llama-3.1-8b-instant'));
  });
});

describe('costUsd', () => {
  it('multiplies tokens by the price per million', () => {
    expect(costUsd({ inputPerMTok: 3, outputPerMTok: 15 }, 1_000_000, 0)).toBe(3);
    expect(costUsd({ inputPerMTok: 3, outputPerMTok: 15 }, 2000, 1000)).toBeCloseTo(0.006 + 0.015, 12);
    expect(costUsd({ inputPerMTok: 0, outputPerMTok: 0 }, 5000, 5000)).toBe(0);
  });

  it('is 0 without a price', () => {
    expect(costUsd(undefined, 1000, 1000)).toBe(0);
  });
});
