import { expect } from 'vitest';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { BackendConfig } from '../../src/config/types.js';
import { OptimizerError } from '../../src/errors/registry.js';

/** A complete backend config for unit tests (no network: the host is `.invalid`). */
export function backendConfig(id: string, models: string[]): BackendConfig {
  return {
    id,
    provider: 'openai-compatible',
    baseUrl: `http://${id}.invalid/v1`,
    models,
    headers: {},
    timeouts: { connectMs: 1000, headersMs: 1000, bodyIdleMs: 1000 },
    connections: 1,
    restart: 'permanent',
    breaker: DEFAULTS.resilience.breaker,
  };
}

/** The OptimizerError thrown by `fn` (fails the test when nothing or something else is thrown). */
export function thrown(fn: () => unknown): OptimizerError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OptimizerError);
    return error as OptimizerError;
  }
  throw new Error('expected an OptimizerError, nothing was thrown');
}
