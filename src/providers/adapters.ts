/**
 * Which adapter speaks to a backend: the native ones for `anthropic`, `gemini` and
 * `ollama-native`, the OpenAI-compatible one (with the provider's quirks) for every other
 * provider. Built once per backend at start; stateless per request.
 */
import type { ProviderName } from '../config/types.js';
import type { ProviderAdapter } from './adapter.js';
import { AnthropicAdapter } from './anthropic/adapter.js';
import { GeminiAdapter } from './gemini/adapter.js';
import { OllamaNativeAdapter } from './ollama/adapter.js';
import { OpenAICompatibleAdapter } from './openai-compatible.js';

export function adapterFor(provider: ProviderName): ProviderAdapter {
  switch (provider) {
    case 'anthropic':
      return new AnthropicAdapter();
    case 'gemini':
      return new GeminiAdapter();
    case 'ollama-native':
      return new OllamaNativeAdapter();
    default:
      return new OpenAICompatibleAdapter(provider);
  }
}

/** One adapter per backend id. */
export function adaptersFor(backends: readonly { id: string; provider: ProviderName }[]): Map<string, ProviderAdapter> {
  return new Map(backends.map((backend) => [backend.id, adapterFor(backend.provider)]));
}
