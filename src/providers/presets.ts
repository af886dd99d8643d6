/**
 * Provider presets: where each known provider lives and how it authenticates.
 * Facts from docs/reference providers.md §1. Every OpenAI-compatible base URL carries its API
 * prefix (`/v1`, `/openai/v1`, ...) so that `${baseUrl}/chat/completions` is the chat path
 * and `${baseUrl}/embeddings` the embeddings path. Native providers (anthropic, gemini,
 * ollama-native) have the root their adapter's paths hang from (src/providers/adapters.ts).
 */
import type { ProviderName } from '../config/types.js';

/**
 * How a provider takes its API key.
 * - `bearer`: `Authorization: Bearer <key>` is required.
 * - `optional-bearer`: sent when a key is configured, omitted otherwise (local servers that may be
 *   started with an API key, and generic OpenAI-compatible endpoints).
 * - `none`: never sent.
 * - `anthropic`: `x-api-key: <key>` plus `anthropic-version: 2023-06-01` (required).
 * - `google`: `x-goog-api-key: <key>` (required).
 */
export type ProviderAuth = 'bearer' | 'none' | 'optional-bearer' | 'anthropic' | 'google';

/** The Messages API version the Anthropic adapter speaks. */
export const ANTHROPIC_VERSION = '2023-06-01';

/** What the optimizer knows about a provider before any config is read. */
export interface ProviderPreset {
  /** Base URL without a trailing slash; `undefined` when the config must give one (`openai-compatible`). */
  readonly baseUrl: string | undefined;
  readonly auth: ProviderAuth;
  /** The env var the provider's own SDKs read the key from; the default for a backend's `apiKeyEnv`. */
  readonly defaultApiKeyEnv?: string;
  /** Runs on the operator's machine or network (no quota, no per-call cost). */
  readonly local: boolean;
}

/** Every provider preset, keyed by the `provider` value of a backend's config. */
export const PROVIDER_PRESETS: Readonly<Record<ProviderName, ProviderPreset>> = Object.freeze({
  openai: { baseUrl: 'https://api.openai.com/v1', auth: 'bearer', defaultApiKeyEnv: 'OPENAI_API_KEY', local: false },
  cerebras: { baseUrl: 'https://api.cerebras.ai/v1', auth: 'bearer', defaultApiKeyEnv: 'CEREBRAS_API_KEY', local: false },
  groq: { baseUrl: 'https://api.groq.com/openai/v1', auth: 'bearer', defaultApiKeyEnv: 'GROQ_API_KEY', local: false },
  together: { baseUrl: 'https://api.together.ai/v1', auth: 'bearer', defaultApiKeyEnv: 'TOGETHER_API_KEY', local: false },
  xai: { baseUrl: 'https://api.x.ai/v1', auth: 'bearer', defaultApiKeyEnv: 'XAI_API_KEY', local: false },
  // DeepSeek answers on the bare host too; `/v1` keeps the chat path uniform.
  deepseek: { baseUrl: 'https://api.deepseek.com/v1', auth: 'bearer', defaultApiKeyEnv: 'DEEPSEEK_API_KEY', local: false },
  // The global endpoint; China accounts set baseUrl to https://api.moonshot.cn/v1.
  moonshot: { baseUrl: 'https://api.moonshot.ai/v1', auth: 'bearer', defaultApiKeyEnv: 'MOONSHOT_API_KEY', local: false },
  openrouter: { baseUrl: 'https://openrouter.ai/api/v1', auth: 'bearer', defaultApiKeyEnv: 'OPENROUTER_API_KEY', local: false },
  mistral: { baseUrl: 'https://api.mistral.ai/v1', auth: 'bearer', defaultApiKeyEnv: 'MISTRAL_API_KEY', local: false },
  fireworks: {
    baseUrl: 'https://api.fireworks.ai/inference/v1',
    auth: 'bearer',
    defaultApiKeyEnv: 'FIREWORKS_API_KEY',
    local: false,
  },
  // vLLM checks a bearer key only when started with --api-key (or VLLM_API_KEY).
  vllm: { baseUrl: 'http://127.0.0.1:8000/v1', auth: 'optional-bearer', defaultApiKeyEnv: 'VLLM_API_KEY', local: true },
  // Local Ollama ignores the key; Ollama Cloud (baseUrl https://ollama.com/v1) needs apiKeyEnv OLLAMA_API_KEY.
  ollama: { baseUrl: 'http://127.0.0.1:11434/v1', auth: 'optional-bearer', local: true },
  // LM Studio has no auth by default; sending a configured key is harmless.
  lmstudio: { baseUrl: 'http://127.0.0.1:1234/v1', auth: 'optional-bearer', local: true },
  'openai-compatible': { baseUrl: undefined, auth: 'optional-bearer', local: false },
  anthropic: { baseUrl: 'https://api.anthropic.com', auth: 'anthropic', defaultApiKeyEnv: 'ANTHROPIC_API_KEY', local: false },
  gemini: { baseUrl: 'https://generativelanguage.googleapis.com/v1beta', auth: 'google', defaultApiKeyEnv: 'GEMINI_API_KEY', local: false },
  // Ollama's own API (/api/chat, /api/embed), where `ollama` is its OpenAI-compatible /v1.
  'ollama-native': { baseUrl: 'http://127.0.0.1:11434', auth: 'optional-bearer', local: true },
} satisfies Record<ProviderName, ProviderPreset>);

/** The provider names, in the order of {@link PROVIDER_PRESETS} (the schema's enum lists the same). */
export const PROVIDER_NAMES = Object.freeze(Object.keys(PROVIDER_PRESETS) as ProviderName[]);

/**
 * The auth headers for one upstream call.
 * A `bearer` provider without a key gets no header (the upstream answers 401, which the backend
 * actor reports); the key is never put anywhere but this header.
 */
export function authHeaders(provider: ProviderName, apiKey: string | undefined): Record<string, string> {
  const { auth } = PROVIDER_PRESETS[provider];
  // The version header is part of Anthropic's protocol, key or not.
  const base: Record<string, string> = auth === 'anthropic' ? { 'anthropic-version': ANTHROPIC_VERSION } : {};
  if (auth === 'none' || apiKey === undefined || apiKey === '') return base;
  if (auth === 'anthropic') return { ...base, 'x-api-key': apiKey };
  if (auth === 'google') return { 'x-goog-api-key': apiKey };
  return { authorization: `Bearer ${apiKey}` };
}

/** Whether the provider cannot be called without a key (a backend whose key env var is unset is disabled). */
export function keyRequired(provider: ProviderName): boolean {
  const { auth } = PROVIDER_PRESETS[provider];
  return auth === 'bearer' || auth === 'anthropic' || auth === 'google';
}
