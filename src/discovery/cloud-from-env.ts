/**
 * `discovery.cloudFromEnv`: a cloud provider preset becomes a backend when its usual key env var
 * is set (GROQ_API_KEY → backend `groq`), unless a backend of that provider is configured. The
 * models it serves are the few below (the routing helper's catalog may know more); configure
 * the backend in `backends[]` to choose them.
 */
import { readSecret } from '../config/secrets.js';
import type { ProviderName } from '../config/types.js';
import { PROVIDER_PRESETS } from '../providers/presets.js';

/** The models an auto-enabled cloud backend serves (facts: docs/reference providers.md). */
export const CLOUD_DEFAULT_MODELS: Readonly<Partial<Record<ProviderName, readonly string[]>>> = Object.freeze({
  openai: ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'],
  cerebras: ['gpt-oss-120b', 'llama-3.3-70b'],
  groq: ['llama-3.3-70b-versatile', 'llama-3.1-8b-instant', 'openai/gpt-oss-120b'],
  together: ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'togethercomputer/m2-bert-80M-8k-retrieval'],
  xai: ['grok-4', 'grok-3-mini'],
  deepseek: ['deepseek-chat', 'deepseek-reasoner'],
  moonshot: ['kimi-k2.5', 'kimi-k2-thinking'],
  openrouter: ['moonshotai/kimi-k2', 'deepseek/deepseek-r1'],
  mistral: ['mistral-large-latest', 'mistral-small-latest', 'mistral-embed'],
  fireworks: ['accounts/fireworks/models/llama-v3p3-70b-instruct'],
});

/** A backend entry (before defaults) that cloudFromEnv adds. */
export interface CloudEntry {
  id: string;
  provider: ProviderName;
  apiKeyEnv: string;
  models: string[];
}

/**
 * The cloud presets whose key env var is set in `env` and that no configured backend already
 * uses, as backend entries. The id is the provider's name (`<provider>-env` if that id is taken).
 */
export function cloudBackendsFromEnv(configured: readonly { id: string; provider: ProviderName }[], env: NodeJS.ProcessEnv): CloudEntry[] {
  const providers = new Set(configured.map((b) => b.provider));
  const ids = new Set(configured.map((b) => b.id));
  const out: CloudEntry[] = [];
  for (const [provider, models] of Object.entries(CLOUD_DEFAULT_MODELS) as [ProviderName, readonly string[]][]) {
    const envName = PROVIDER_PRESETS[provider].defaultApiKeyEnv;
    if (envName === undefined || providers.has(provider) || readSecret(envName, env) === undefined) continue;
    const id = ids.has(provider) ? `${provider}-env` : provider;
    ids.add(id);
    out.push({ id, provider, apiKeyEnv: envName, models: [...models] });
  }
  return out;
}

/** The key env vars cloudFromEnv looks at, in preset order (for "set one of ..." messages). */
export function cloudKeyEnvNames(): string[] {
  return (Object.keys(CLOUD_DEFAULT_MODELS) as ProviderName[]).map((p) => PROVIDER_PRESETS[p].defaultApiKeyEnv).filter((n): n is string => n !== undefined);
}
