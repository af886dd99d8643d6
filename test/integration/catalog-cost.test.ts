import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsReport } from '../../src/metrics/stats.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * Cost metrics priced by the model catalog (src/providers/catalog.ts), with no cost function
 * injected: the optimizer's own wiring, catalog defaults overridden from config.
 */
describe('cost from the model catalog', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      upstreams: { priced: { models: ['priced-model'] }, local: { models: ['free-model'], provider: 'lmstudio' } },
      // $1,000 per million in and $2,000 per million out: every token shows in the totals.
      config: { catalog: { 'priced/priced-model': { inputPerMTok: 1000, outputPerMTok: 2000 } } },
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  const chat = async (model: string, content: string) => {
    const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'payer' },
      body: JSON.stringify({ model, temperature: 0, messages: [{ role: 'user', content }] }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
  };
  const stats = async () => (await (await fetch(`${stack.optimizer.url}/admin/stats`)).json()) as StatsReport;

  it('prices a call by its usage, a cache hit as cost saved, and a local backend at zero', async () => {
    const { usage } = await chat('priced/priced-model', 'what does it cost?');
    const expected = (usage.prompt_tokens * 1000 + usage.completion_tokens * 2000) / 1_000_000;
    expect(expected).toBeGreaterThan(0);
    await chat('priced/priced-model', 'what does it cost?'); // a hit: nothing spent, the same saved
    await chat('local/free-model', 'and here?');

    const report = await stats();
    expect(report.byModel['priced/priced-model']!.costUsd).toBeCloseTo(expected, 9);
    expect(report.byModel['priced/priced-model']!.costSavedUsd).toBeCloseTo(expected, 9);
    expect(report.byModel['local/free-model']!.requests).toBe(1);
    expect(report.byModel['local/free-model']!.costUsd).toBe(0);
    expect(report.totals.costUsd).toBeCloseTo(expected, 9);
  });
});
