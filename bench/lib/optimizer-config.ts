/** The optimizer configs the benchmarks run (bench/run.ts, bench/ab.ts). */
import type { TargetId } from './types.js';

/** Limits far above any load the bench can make: they are checked on every request, never binding. */
export const FAR_REQUESTS_PER_MINUTE = 100_000_000;
export const FAR_TOKENS_PER_MINUTE = 1_000_000_000_000;

/**
 * The optimizer's config. `optimizer` (pass-through): one backend, request limits far above the
 * load, cache and dedupe off. `features` and `cache-hit`: the same with the cache and dedupe on (the
 * defaults: 1 h TTL, 100,000 entries, 5 s dedupe window) and request *and* token limits far above
 * the load, globally and per agent (so token estimates are computed too).
 */
export function optimizerConfig(upstreamUrl: string, id: TargetId): Record<string, unknown> {
  const base = {
    log: { level: 'warn' },
    backends: [{ id: 'up', provider: 'openai-compatible', baseUrl: upstreamUrl.replace(/\/+$/, ''), models: ['test-model'] }],
    routing: { defaultModel: 'up/test-model' },
  };
  if (id === 'optimizer') {
    return {
      ...base,
      limits: { global: { requestsPerMinute: FAR_REQUESTS_PER_MINUTE }, perAgent: { requestsPerMinute: FAR_REQUESTS_PER_MINUTE } },
      cache: { enabled: false },
      dedupe: { enabled: false },
    };
  }
  const far = { requestsPerMinute: FAR_REQUESTS_PER_MINUTE, tokensPerMinute: FAR_TOKENS_PER_MINUTE };
  return { ...base, limits: { global: far, perAgent: far }, cache: { enabled: true }, dedupe: { enabled: true } };
}
