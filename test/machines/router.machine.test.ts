import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { routerMachine } from '../../machines/router.machine.js';
import type { BackendConfig } from '../../src/config/types.js';
import { OptimizerError } from '../../src/errors/registry.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { ModelCatalog } from '../../src/providers/catalog.js';
import { buildAutoRouting, NO_HEALTH, type HealthReader } from '../../src/routing/auto.js';
import { buildRoutingTable, type Route, type RouteQuery, type RoutingTable } from '../../src/routing/table.js';
import type { AutoRouting } from '../../src/routing/auto.js';
import { backendConfig } from '../support/fixtures.js';

const table = buildRoutingTable({
  backends: [backendConfig('groq', ['llama-3.3-70b-versatile']), backendConfig('openrouter', ['meta-llama/llama-3.3-70b'])],
  routing: { aliases: { fast: 'groq/llama-3.3-70b-versatile' }, fallbacks: {}, defaultModel: '' },
});

function start(t: RoutingTable = table, extra: { auto?: AutoRouting; health?: HealthReader } = {}) {
  const errors: unknown[] = [];
  const actor = createActor(routerMachine, { input: { table: t, ...extra } });
  actor.subscribe({ error: (e) => void errors.push(e) });
  actor.start();
  /** Sends router.resolve and returns what the reply callback got before send() returned. */
  const resolve = (query: RouteQuery): Route | OptimizerError => {
    const replies: (Route | OptimizerError)[] = [];
    actor.send({ type: 'router.resolve', query, reply: (result) => void replies.push(result) });
    expect(replies).toHaveLength(1);
    return replies[0]!;
  };
  return { actor, errors, resolve };
}

describe('router machine', () => {
  it('starts with its table and zero counters', () => {
    const { actor } = start();
    expect(actor.getSnapshot().context).toEqual({ table, auto: undefined, health: NO_HEALTH, resolved: 0, notFound: 0 });
  });

  it('replies synchronously with a route', () => {
    const { resolve } = start();
    const groq = { backendId: 'groq', model: 'llama-3.3-70b-versatile', name: 'groq/llama-3.3-70b-versatile' };
    expect(resolve({ model: 'fast', pinnedBackend: undefined })).toEqual({ target: groq, reason: 'alias', candidates: [groq] });
    expect(resolve({ model: 'auto', pinnedBackend: 'openrouter' })).toMatchObject({
      target: { name: 'openrouter/meta-llama/llama-3.3-70b' },
      reason: 'pinned',
    });
  });

  it('replies with the OptimizerError instead of throwing, and stays up', () => {
    const { actor, errors, resolve } = start();
    const notFound = resolve({ model: 'gpt-17', pinnedBackend: undefined });
    expect(notFound).toBeInstanceOf(OptimizerError);
    expect((notFound as OptimizerError).code).toBe('MODEL_NOT_FOUND');
    expect((notFound as OptimizerError).param).toBe('model');
    const noBackend = resolve({ model: 'auto', pinnedBackend: 'mistral' });
    expect((noBackend as OptimizerError).code).toBe('BACKEND_NOT_FOUND');
    expect(actor.getSnapshot().status).toBe('active');
    expect(errors).toEqual([]);
  });

  it('answers NO_BACKENDS with an empty table', () => {
    const empty = buildRoutingTable({ backends: [], routing: { aliases: {}, fallbacks: {}, defaultModel: '' } });
    const { resolve } = start(empty);
    expect((resolve({ model: undefined, pinnedBackend: undefined }) as OptimizerError).code).toBe('NO_BACKENDS');
  });

  it('counts resolved routes and failures', () => {
    const { actor, resolve } = start();
    resolve({ model: 'fast', pinnedBackend: undefined });
    resolve({ model: 'llama-3.3-70b-versatile', pinnedBackend: undefined });
    resolve({ model: 'nope', pinnedBackend: undefined });
    resolve({ model: 'fast', pinnedBackend: 'nope' });
    resolve({ model: undefined, pinnedBackend: undefined });
    expect(actor.getSnapshot().context).toMatchObject({ resolved: 3, notFound: 2 });
  });

  describe('with task routing', () => {
    const backends = [backendConfig('fast', ['small']), backendConfig('coder', ['code-model']), backendConfig('thinker', ['think-model'])];
    const routing = { ...DEFAULTS.routing, tasks: { ...DEFAULTS.routing.tasks, code: ['coder/code-model'], reasoning: ['thinker/think-model'] } };
    const taskTable = buildRoutingTable({ backends, routing });
    const auto = buildAutoRouting({ backends, routing }, taskTable, new ModelCatalog(backends));
    const chat = (content: string) => ({ endpoint: 'chat.completions' as const, body: { messages: [{ role: 'user', content }] }, taskHint: undefined, agentType: undefined });

    it('routes auto by task, with the health it was given', () => {
      const { resolve } = start(taskTable, { auto });
      expect(resolve({ model: 'auto', pinnedBackend: undefined, request: chat('Fix this python function:\n```\ndef f(x): return x\n```') })).toMatchObject({
        target: { backendId: 'coder' },
        reason: 'task:code',
        task: 'code',
      });
      expect(resolve({ model: 'auto', pinnedBackend: undefined, request: chat('Prove step by step that 2 + 2 = 4.') })).toMatchObject({
        target: { backendId: 'thinker' },
        reason: 'task:reasoning',
      });
      // The explicit names keep the static table's answer.
      expect(resolve({ model: 'coder/code-model', pinnedBackend: undefined, request: chat('hi') })).toMatchObject({ reason: 'explicit' });
    });

    it('reads the health it was given: an open breaker moves a backend behind the others', () => {
      const openCoder: HealthReader = { ...NO_HEALTH, availability: (id) => (id === 'coder' ? 'open' : 'closed') };
      const { resolve } = start(taskTable, { auto, health: openCoder });
      const plan = resolve({ model: 'auto', pinnedBackend: undefined, request: chat('```js\nconsole.log(1)\n```') }) as Route & { candidates: { backendId: string }[] };
      expect(plan.target.backendId).not.toBe('coder');
      expect(plan.candidates.at(-1)?.backendId).toBe('coder');
    });

    it('replies INVALID_REQUEST for an unknown task hint', () => {
      const { resolve } = start(taskTable, { auto });
      const error = resolve({ model: 'auto', pinnedBackend: undefined, request: { ...chat('x'), taskHint: 'poetry' } }) as OptimizerError;
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.param).toBe('x-task-type');
    });
  });

  it('debug.crash errors the actor', () => {
    const { actor, errors } = start();
    actor.send({ type: 'debug.crash' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(String((errors[0] as Error).message)).toContain('fault injected into router');
  });

  it('router.table swaps the table: models found later (discovery) resolve from then on', () => {
    const { actor, resolve } = start();
    expect((resolve({ model: 'vllm/qwen', pinnedBackend: undefined }) as OptimizerError).code).toBe('MODEL_NOT_FOUND');
    const grown = buildRoutingTable({
      backends: [backendConfig('groq', ['llama-3.3-70b-versatile']), backendConfig('vllm', ['qwen'])],
      routing: { aliases: {}, fallbacks: {}, defaultModel: '' },
    });
    actor.send({ type: 'router.table', table: grown });
    expect(resolve({ model: 'vllm/qwen', pinnedBackend: undefined })).toMatchObject({ target: { backendId: 'vllm', model: 'qwen' }, reason: 'explicit' });
    expect(actor.getSnapshot().context.table).toBe(grown);
  });
});
