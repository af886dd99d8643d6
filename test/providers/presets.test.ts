import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/config/types.js';
import { authHeaders, keyRequired, PROVIDER_NAMES, PROVIDER_PRESETS } from '../../src/providers/presets.js';

const ALL: ProviderName[] = [
  'openai',
  'cerebras',
  'groq',
  'together',
  'xai',
  'deepseek',
  'moonshot',
  'openrouter',
  'mistral',
  'fireworks',
  'vllm',
  'ollama',
  'lmstudio',
  'openai-compatible',
  'anthropic',
  'gemini',
  'ollama-native',
];
/** Native wire formats: their base URL is the API root, their auth their own header. */
const NATIVE: ProviderName[] = ['anthropic', 'gemini', 'ollama-native'];

describe('PROVIDER_PRESETS', () => {
  it('has a preset for every provider name', () => {
    expect([...PROVIDER_NAMES].sort()).toEqual([...ALL].sort());
  });

  it.each([
    ['openai', 'https://api.openai.com/v1'],
    ['cerebras', 'https://api.cerebras.ai/v1'],
    ['groq', 'https://api.groq.com/openai/v1'],
    ['together', 'https://api.together.ai/v1'],
    ['xai', 'https://api.x.ai/v1'],
    ['deepseek', 'https://api.deepseek.com/v1'],
    ['moonshot', 'https://api.moonshot.ai/v1'],
    ['openrouter', 'https://openrouter.ai/api/v1'],
    ['mistral', 'https://api.mistral.ai/v1'],
    ['fireworks', 'https://api.fireworks.ai/inference/v1'],
    ['vllm', 'http://127.0.0.1:8000/v1'],
    ['ollama', 'http://127.0.0.1:11434/v1'],
    ['lmstudio', 'http://127.0.0.1:1234/v1'],
    ['anthropic', 'https://api.anthropic.com'],
    ['gemini', 'https://generativelanguage.googleapis.com/v1beta'],
    ['ollama-native', 'http://127.0.0.1:11434'],
  ] as const)('%s lives at %s', (provider, baseUrl) => {
    expect(PROVIDER_PRESETS[provider].baseUrl).toBe(baseUrl);
  });

  it('leaves the base URL of openai-compatible to the config', () => {
    expect(PROVIDER_PRESETS['openai-compatible'].baseUrl).toBeUndefined();
  });

  it('gives cloud providers https URLs, a bearer key and its usual env var; local ones loopback URLs', () => {
    for (const name of ALL.filter((n) => !NATIVE.includes(n))) {
      const preset = PROVIDER_PRESETS[name];
      if (preset.baseUrl !== undefined) expect(preset.baseUrl.endsWith('/')).toBe(false);
      if (preset.local) {
        expect(preset.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
        expect(preset.auth).not.toBe('bearer');
      } else if (name !== 'openai-compatible') {
        expect(preset.baseUrl).toMatch(/^https:\/\//);
        expect(preset.auth).toBe('bearer');
        expect(preset.defaultApiKeyEnv).toMatch(/^[A-Z_][A-Z0-9_]*_API_KEY$/);
      }
    }
    expect(PROVIDER_PRESETS.groq.defaultApiKeyEnv).toBe('GROQ_API_KEY');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(PROVIDER_PRESETS)).toBe(true);
  });
});

describe('authHeaders', () => {
  it('sends Anthropic its x-api-key and the API version (the version even without a key)', () => {
    expect(authHeaders('anthropic', 'sk-ant-1')).toEqual({ 'x-api-key': 'sk-ant-1', 'anthropic-version': '2023-06-01' });
    expect(authHeaders('anthropic', undefined)).toEqual({ 'anthropic-version': '2023-06-01' });
  });

  it('sends Gemini its x-goog-api-key, and the native Ollama a bearer key only when there is one', () => {
    expect(authHeaders('gemini', 'AIza-1')).toEqual({ 'x-goog-api-key': 'AIza-1' });
    expect(authHeaders('ollama-native', undefined)).toEqual({});
    expect(authHeaders('ollama-native', 'k')).toEqual({ authorization: 'Bearer k' });
  });

  it('requires a key for the cloud providers only', () => {
    expect(keyRequired('anthropic')).toBe(true);
    expect(keyRequired('gemini')).toBe(true);
    expect(keyRequired('groq')).toBe(true);
    expect(keyRequired('ollama-native')).toBe(false);
    expect(keyRequired('vllm')).toBe(false);
  });

  it('sends a bearer key to bearer providers', () => {
    expect(authHeaders('groq', 'gsk_abc')).toEqual({ authorization: 'Bearer gsk_abc' });
  });

  it('sends a key to optional-bearer providers only when there is one', () => {
    expect(authHeaders('vllm', 'token')).toEqual({ authorization: 'Bearer token' });
    expect(authHeaders('openai-compatible', undefined)).toEqual({});
    expect(authHeaders('ollama', '')).toEqual({});
  });

  it('sends nothing when a bearer provider has no key (the upstream 401 says why)', () => {
    expect(authHeaders('openai', undefined)).toEqual({});
  });
});
