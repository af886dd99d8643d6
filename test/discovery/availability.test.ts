import { describe, expect, it } from 'vitest';
import { Availability, nothingReachableHint } from '../../src/discovery/availability.js';
import { cloudBackendsFromEnv } from '../../src/discovery/cloud-from-env.js';
import { serverRoot } from '../../src/discovery/server-root.js';

describe('Availability', () => {
  it('a backend is usable unless disabled or a probe says it is down; anyUsable follows', () => {
    const availability = new Availability(() => 'set X');
    expect(availability.anyUsable).toBe(false);
    availability.addBackend('groq', 'set the env var GROQ_API_KEY to its API key');
    expect(availability.anyUsable).toBe(false);
    availability.addBackend('vllm');
    expect(availability.anyUsable).toBe(true);
    availability.setProbe('vllm', { provider: 'vllm', url: 'http://127.0.0.1:8000', state: 'unhealthy', reason: 'its /health answers 503', models: [] });
    expect(availability.anyUsable).toBe(false);
    expect(availability.unusableReason('vllm')).toBe('backend vllm is unhealthy at http://127.0.0.1:8000 (its /health answers 503)');
    expect(availability.unusableReason('groq')).toBeUndefined(); // disabled is the actor's answer (BACKEND_DISABLED)
    availability.setProbe('vllm', { provider: 'vllm', url: 'http://127.0.0.1:8000', state: 'reachable', models: [] });
    expect(availability.anyUsable).toBe(true);
    expect(availability.unusableReason('vllm')).toBeUndefined();
  });

  it('says what to set or start, in one error with a stable code', () => {
    const availability = new Availability(() => 'set GROQ_API_KEY');
    const error = availability.nothingReachableError();
    expect([error.code, error.status, error.message]).toEqual(['NO_BACKEND_REACHABLE', 503, 'No backend is reachable: set GROQ_API_KEY.']);
    expect(availability.nothingReachableMessage()).toBe('no backend reachable: set GROQ_API_KEY');
  });
});

describe('nothingReachableHint', () => {
  it('names each key env var and each local server once', () => {
    expect(
      nothingReachableHint(['GROQ_API_KEY', 'CEREBRAS_API_KEY', 'GROQ_API_KEY'], [
        { provider: 'ollama', url: 'http://127.0.0.1:11434' },
        { provider: 'vllm', url: 'http://127.0.0.1:8000' },
        { provider: 'ollama', url: 'http://127.0.0.1:11434' },
      ]),
    ).toBe('set GROQ_API_KEY / CEREBRAS_API_KEY, or start Ollama on 127.0.0.1:11434 / vLLM on 127.0.0.1:8000');
    expect(nothingReachableHint([], [{ provider: 'lmstudio', url: 'http://127.0.0.1:1234' }])).toBe('start LM Studio on 127.0.0.1:1234');
    expect(nothingReachableHint([], [])).toContain('add a backend to `backends`');
  });
});

describe('cloudBackendsFromEnv', () => {
  it('adds a preset whose key env var is set, unless a backend of that provider is configured; blank keys do not count', () => {
    const env = { GROQ_API_KEY: 'gsk_x', DEEPSEEK_API_KEY: 'sk-x', MISTRAL_API_KEY: '  ' };
    const added = cloudBackendsFromEnv([{ id: 'deepseek', provider: 'deepseek' }], env);
    expect(added.map((b) => [b.id, b.provider, b.apiKeyEnv])).toEqual([['groq', 'groq', 'GROQ_API_KEY']]);
    expect(added[0]?.models).toContain('llama-3.3-70b-versatile');
  });

  it('takes `<provider>-env` as id when the provider’s name is another backend’s id', () => {
    const added = cloudBackendsFromEnv([{ id: 'groq', provider: 'openai-compatible' }], { GROQ_API_KEY: 'gsk_x' });
    expect(added.map((b) => b.id)).toEqual(['groq-env']);
  });
});

describe('serverRoot', () => {
  it.each([
    ['http://127.0.0.1:8000/v1', 'http://127.0.0.1:8000'],
    ['http://127.0.0.1:8000/v1/', 'http://127.0.0.1:8000'],
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8000'],
    ['http://LocalHost:11434/', 'http://localhost:11434'],
    ['https://gpu.lab/vllm/v1', 'https://gpu.lab/vllm'],
  ])('%s → %s', (url, root) => {
    expect(serverRoot(url)).toBe(root);
  });
});
