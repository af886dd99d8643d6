import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/load.js';
import type { BackendConfig, CatalogEntry, ProviderName, RoutingConfig } from '../../src/config/types.js';
import { buildModelCatalog, ModelCatalog } from '../../src/providers/catalog.js';
import { buildAutoRouting, FALLBACK_LONG_PROMPT_TOKENS, NO_HEALTH, planAutoRoute, routeRequest, type HealthReader } from '../../src/routing/auto.js';
import type { ClassifyInput } from '../../src/routing/classify.js';
import { buildRoutingTable } from '../../src/routing/table.js';
import { backendConfig, thrown } from '../support/fixtures.js';

function backend(id: string, provider: ProviderName, models: string[]): BackendConfig {
  return { ...backendConfig(id, models), provider };
}

function fleet(backends: BackendConfig[], routing: Partial<RoutingConfig> = {}, catalog: Record<string, CatalogEntry> = {}) {
  const config = { backends, routing: { ...DEFAULTS.routing, ...routing }, catalog };
  const table = buildRoutingTable(config);
  const auto = buildAutoRouting(config, table, buildModelCatalog(config));
  return { table, auto, tables: { table, auto } };
}

function chat(content: string, extra: Partial<ClassifyInput> & { body?: Record<string, unknown> } = {}): ClassifyInput {
  const { body, ...rest } = extra;
  return { endpoint: 'chat.completions', body: { messages: [{ role: 'user', content }], ...body }, taskHint: undefined, agentType: undefined, ...rest };
}

const embeddings: ClassifyInput = { endpoint: 'embeddings', body: { input: 'vector me' }, taskHint: undefined, agentType: undefined };
const CODE = 'Fix this TypeScript:\n```ts\nconst x: number = "a";\n```';
const REASONING = 'Prove step by step that there are infinitely many primes.';

describe('task routing with the default task lists (the sample supervisor.config.json)', () => {
  const config = loadConfig({ configPath: fileURLToPath(new URL('../../supervisor.config.json', import.meta.url)) }, {});
  const table = buildRoutingTable(config);
  const auto = buildAutoRouting(config, table, buildModelCatalog(config));
  const plan = (request: ClassifyInput) => planAutoRoute(auto, request, NO_HEALTH);

  it('reasoning → DeepSeek R1 (deepseek-reasoner)', () => {
    expect(plan(chat(REASONING))).toMatchObject({ target: { name: 'deepseek/deepseek-reasoner' }, reason: 'task:reasoning', task: 'reasoning' });
  });

  it('code → Cerebras: of its models strong at code, the cheapest', () => {
    expect(plan(chat(CODE))).toMatchObject({ target: { name: 'cerebras/gpt-oss-120b' }, reason: 'task:code' });
    // zai-glm-4.6 is as strong at code but dearer; llama-3.3-70b is listed (provider:cerebras) but not strong at code.
    expect(plan(chat(CODE))?.candidates.slice(1, 3).map((t) => t.name)).toEqual(['cerebras/zai-glm-4.6', 'cerebras/llama-3.3-70b']);
  });

  it('general → the configured defaultModel first', () => {
    expect(plan(chat('Hello, how are you?'))).toMatchObject({ target: { name: 'groq/llama-3.1-8b-instant' }, reason: 'task:general' });
  });

  it('long → Together (when the prompt fits its window), else the longest window', () => {
    expect(auto.longPromptTokens).toBe(128_000); // DeepSeek's, the smallest known window of the chat models
    expect(plan(chat('z'.repeat(129_000 * 4)))).toMatchObject({ target: { name: 'together/meta-llama/Llama-3.3-70B-Instruct-Turbo' }, reason: 'task:long' });
    // 200K tokens fit only the Kimi K2 models' 256K windows: the others are not even candidates.
    const huge = plan(chat('z'.repeat(200_000 * 4)));
    expect(huge?.target.name).toMatch(/^moonshot\/kimi-k2/);
    expect(huge?.candidates.map((t) => t.name).sort()).toEqual(['moonshot/kimi-k2-thinking', 'moonshot/kimi-k2.5', 'openrouter/moonshotai/kimi-k2']);
  });

  it('embeddings → Ollama nomic-embed-text, and only embedding models', () => {
    const plan1 = plan(embeddings);
    expect(plan1).toMatchObject({ target: { name: 'ollama/nomic-embed-text' }, reason: 'task:embeddings' });
    expect(plan1?.candidates.map((t) => t.name)).toEqual(['ollama/nomic-embed-text', 'together/togethercomputer/m2-bert-80M-8k-retrieval']);
  });

  it('chat candidates never include embedding models, and list every chat model for failover', () => {
    const general = plan(chat('hi'));
    const names = general?.candidates.map((t) => t.name) ?? [];
    expect(names).not.toContain('ollama/nomic-embed-text');
    expect(names).not.toContain('together/togethercomputer/m2-bert-80M-8k-retrieval');
    expect(names).toHaveLength(config.backends.reduce((n, b) => n + b.models.length, 0) - 2);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('buildAutoRouting', () => {
  it('gives listed models a fit by position, unlisted ones less, and knows the catalog strengths', () => {
    const { auto } = fleet(
      [backend('c', 'cerebras', ['gpt-oss-120b', 'llama3.1-8b']), backend('d', 'deepseek', ['deepseek-reasoner']), backend('x', 'openai-compatible', ['mystery'])],
      { tasks: { ...DEFAULTS.routing.tasks, reasoning: ['d/deepseek-reasoner', 'c/gpt-oss-120b'] } },
    );
    const reasoning = auto.fit.reasoning;
    expect(reasoning.get('d/deepseek-reasoner')).toBeCloseTo(0.6 + 0.3 + 0.1, 10);
    expect(reasoning.get('c/gpt-oss-120b')).toBeCloseTo(0.6 + 0.15 + 0.1, 10);
    expect(reasoning.get('c/llama3.1-8b')).toBeCloseTo(0.1, 10); // unlisted, not strong at reasoning
    expect(reasoning.get('x/mystery')).toBeCloseTo(0.1, 10);
    // `provider:cerebras` (default code list) names both Cerebras models at one position.
    expect(auto.fit.code.get('c/gpt-oss-120b')).toBeCloseTo(1, 10);
    expect(auto.fit.code.get('c/llama3.1-8b')).toBeCloseTo(0.9, 10);
  });

  it('a provider entry skips models that cannot do the task; a named model counts whatever the catalog says', () => {
    const { auto } = fleet(
      [backend('t', 'together', ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'togethercomputer/m2-bert-80M-8k-retrieval']), backend('l', 'vllm', ['my-vectors'])],
      { tasks: { ...DEFAULTS.routing.tasks, embeddings: ['l/my-vectors'] } },
    );
    expect(auto.eligible.long.map((t) => t.target.name)).toEqual(['t/meta-llama/Llama-3.3-70B-Instruct-Turbo', 'l/my-vectors']);
    expect(auto.eligible.embeddings.map((t) => t.target.name)).toEqual(['t/togethercomputer/m2-bert-80M-8k-retrieval', 'l/my-vectors']);
    expect(auto.fit.embeddings.get('l/my-vectors')).toBeGreaterThan(auto.fit.embeddings.get('t/togethercomputer/m2-bert-80M-8k-retrieval')!);
  });

  it('puts defaultModel first in the general list, before routing.tasks.general', () => {
    const backends = [backend('g', 'groq', ['llama-3.1-8b-instant']), backend('c', 'cerebras', ['gpt-oss-120b'])];
    expect(planAutoRoute(fleet(backends).auto, chat('hi'), NO_HEALTH)?.target.name).toBe('c/gpt-oss-120b');
    expect(planAutoRoute(fleet(backends, { aliases: { fast: 'g/llama-3.1-8b-instant' }, defaultModel: 'fast' }).auto, chat('hi'), NO_HEALTH)?.target.name).toBe(
      'g/llama-3.1-8b-instant',
    );
  });

  it('long threshold: configured, else the smallest known chat window, else the fallback', () => {
    const backends = [backend('a', 'openai-compatible', ['m']), backend('b', 'openai-compatible', ['n', 'embed-x'])];
    expect(fleet(backends).auto.longPromptTokens).toBe(FALLBACK_LONG_PROMPT_TOKENS);
    expect(fleet(backends, {}, { m: { contextWindow: 8192 }, n: { contextWindow: 4096 }, 'embed-x': { contextWindow: 512 } }).auto.longPromptTokens).toBe(4096);
    expect(fleet(backends, { longPromptTokens: 777 }, { m: { contextWindow: 8192 } }).auto.longPromptTokens).toBe(777);
  });
});

describe('planAutoRoute', () => {
  const backends = [
    backend('fast', 'openai-compatible', ['small']),
    backend('coder', 'openai-compatible', ['code-model']),
    backend('thinker', 'openai-compatible', ['think-model']),
    backend('longctx', 'openai-compatible', ['long-model']),
  ];
  const routing = {
    tasks: { reasoning: ['thinker/think-model'], code: ['coder/code-model'], general: ['fast/small'], long: ['longctx/long-model'], embeddings: [] },
  };
  const catalog = {
    small: { contextWindow: 8192 },
    'code-model': { contextWindow: 8192 },
    'think-model': { contextWindow: 8192 },
    'long-model': { contextWindow: 1_000_000 },
  };
  const { auto, tables } = fleet(backends, routing, catalog);
  const health = (overrides: Partial<Record<string, Partial<{ availability: 'closed' | 'open' | 'half_open' | 'down'; quota: number; latency: number }>>>): HealthReader => ({
    availability: (id) => overrides[id]?.availability ?? 'closed',
    quota: (id) => overrides[id]?.quota ?? 1,
    latencyEwmaMs: (id) => overrides[id]?.latency,
  });

  it('sends each class to its backend, with the rest after it for failover', () => {
    expect(planAutoRoute(auto, chat(CODE), NO_HEALTH)).toMatchObject({ target: { backendId: 'coder' }, reason: 'task:code' });
    expect(planAutoRoute(auto, chat(REASONING), NO_HEALTH)).toMatchObject({ target: { backendId: 'thinker' }, reason: 'task:reasoning' });
    expect(planAutoRoute(auto, chat('hello'), NO_HEALTH)).toMatchObject({ target: { backendId: 'fast' }, reason: 'task:general' });
    const long = planAutoRoute(auto, chat('q'.repeat(9000 * 4)), NO_HEALTH);
    expect(long).toMatchObject({ target: { backendId: 'longctx' }, reason: 'task:long', task: 'long' });
    // Only the long-context model fits a 9K-token prompt.
    expect(long?.candidates.map((t) => t.backendId)).toEqual(['longctx']);
    expect(planAutoRoute(auto, chat(CODE), NO_HEALTH)?.candidates.map((t) => t.backendId)).toEqual(['coder', 'fast', 'thinker', 'longctx']);
  });

  it('counts the answer asked for against the context window', () => {
    const prompt = 'q'.repeat(6000 * 4); // ≈ 6K tokens: fits 8K, but not with 4K more for the answer
    expect(planAutoRoute(auto, chat(prompt), NO_HEALTH)?.target.backendId).toBe('fast');
    expect(planAutoRoute(auto, chat(prompt, { body: { max_completion_tokens: 4000 } }), NO_HEALTH)?.candidates.map((t) => t.backendId)).toEqual(['longctx']);
    expect(planAutoRoute(auto, chat(prompt, { body: { max_tokens: 4000 } }), NO_HEALTH)?.target.backendId).toBe('longctx');
  });

  it('a hint overrides the content', () => {
    expect(planAutoRoute(auto, chat(CODE, { taskHint: 'reasoning' }), NO_HEALTH)).toMatchObject({ target: { backendId: 'thinker' }, reason: 'task:reasoning' });
  });

  it('avoids an open or down backend while another is healthy, and penalises half-open', () => {
    expect(planAutoRoute(auto, chat(CODE), health({ coder: { availability: 'open' } }))?.candidates.map((t) => t.backendId)).toEqual([
      'fast',
      'thinker',
      'longctx',
      'coder',
    ]);
    expect(planAutoRoute(auto, chat(CODE), health({ coder: { availability: 'down' } }))?.target.backendId).not.toBe('coder');
    // Half-open lets a probe through: the penalty (2) is smaller than the code model's lead in fit (4 × 0.8).
    expect(planAutoRoute(auto, chat(CODE), health({ coder: { availability: 'half_open' } }))?.target.backendId).toBe('coder');
    const strict = fleet(backends, { ...routing, weights: { ...DEFAULTS.routing.weights, halfOpenPenalty: 10 } }, catalog).auto;
    expect(planAutoRoute(strict, chat(CODE), health({ coder: { availability: 'half_open' } }))?.candidates.map((t) => t.backendId)).toEqual([
      'fast',
      'thinker',
      'longctx',
      'coder',
    ]);
  });

  it('treats a backend out of quota like an open one (delivery would move it last too)', () => {
    expect(planAutoRoute(auto, chat('hello'), health({ fast: { quota: 0 } }))?.candidates.at(-1)?.backendId).toBe('fast');
    expect(planAutoRoute(auto, chat('hello'), health({ fast: { quota: 0.05 } }))?.target.backendId).not.toBe('fast');
    expect(planAutoRoute(auto, chat('hello'), health({ fast: { quota: 0.2 } }))?.target.backendId).toBe('fast');
  });

  it('among models that fit the task equally, quota and latency decide', () => {
    const even = fleet(backends, { tasks: { ...routing.tasks, general: ['provider:openai-compatible'] } }, catalog).auto;
    expect(planAutoRoute(even, chat('hello'), NO_HEALTH)?.target.backendId).toBe('fast'); // config order
    expect(planAutoRoute(even, chat('hello'), health({ fast: { latency: 5000 } }))?.target.backendId).toBe('coder');
    expect(planAutoRoute(even, chat('hello'), health({ fast: { quota: 0.5 }, coder: { quota: 0.4 } }))?.target.backendId).toBe('thinker');
    // Latency noise under the reference never reorders.
    expect(planAutoRoute(even, chat('hello'), health({ fast: { latency: 40 }, coder: { latency: 2 } }))?.target.backendId).toBe('fast');
  });

  it('falls back to the static default route when no model suits the task (embeddings here)', () => {
    expect(planAutoRoute(auto, embeddings, NO_HEALTH)).toBeUndefined();
    expect(routeRequest(tables, { model: 'auto', pinnedBackend: undefined, request: embeddings })).toMatchObject({ reason: 'default', target: { backendId: 'fast' } });
  });
});

describe('routeRequest', () => {
  const backends = [backend('a', 'openai-compatible', ['m1']), backend('b', 'openai-compatible', ['m2'])];
  const { tables } = fleet(backends, { tasks: { ...DEFAULTS.routing.tasks, code: ['b/m2'] } });

  it('routes auto (or a missing model) by task when the request is given', () => {
    for (const model of ['auto', undefined, '']) {
      expect(routeRequest(tables, { model, pinnedBackend: undefined, request: chat(CODE) })).toMatchObject({ target: { backendId: 'b' }, reason: 'task:code' });
    }
  });

  it('keeps the static behaviour for explicit names, pins, and auto without a request or without task routing', () => {
    expect(routeRequest(tables, { model: 'a/m1', pinnedBackend: undefined, request: chat(CODE) })).toMatchObject({ reason: 'explicit', candidates: [{ name: 'a/m1' }] });
    expect(routeRequest(tables, { model: 'auto', pinnedBackend: 'a', request: chat(CODE) })).toMatchObject({ reason: 'pinned', target: { backendId: 'a' } });
    expect(routeRequest(tables, { model: 'auto', pinnedBackend: undefined })).toMatchObject({ reason: 'default' });
    expect(routeRequest({ table: tables.table }, { model: 'auto', pinnedBackend: undefined, request: chat(CODE) })).toMatchObject({ reason: 'default' });
  });

  it('rejects a bad task hint on auto', () => {
    expect(thrown(() => routeRequest(tables, { model: 'auto', pinnedBackend: undefined, request: chat('x', { taskHint: 'music' }) })).code).toBe('INVALID_REQUEST');
  });

  it('builds from a catalog that knows nothing (every model general, no windows)', () => {
    const table = buildRoutingTable({ backends, routing: DEFAULTS.routing });
    const bare = buildAutoRouting({ backends, routing: DEFAULTS.routing }, table, new ModelCatalog([]));
    expect(bare.eligible.general).toHaveLength(2);
    expect(bare.eligible.embeddings).toHaveLength(0);
  });
});
