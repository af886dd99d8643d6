/**
 * The built-in model catalog: context windows, list prices and task strengths of well-known models.
 *
 * These are DEFAULTS TO OVERRIDE (`catalog` in supervisor.config.json), not a price list to bill by:
 * providers change prices often, and an account may have its own. Prices are USD per million tokens
 * at the provider's standard (cache-miss, non-batch) rate as their public pricing pages listed them in
 * 2025; where a model's own price was not found, its family's price is used and the entry says so.
 * Context windows are the model's native window; a provider may serve less (Ollama's `num_ctx`,
 * a free tier's cap): say so in `catalog` when it matters.
 *
 * Lookup (src/providers/catalog.ts): the exact model id, then its last path segment
 * (`openai/gpt-oss-120b` → `gpt-oss-120b`), then the longest entry that is a prefix of the id ending
 * at `-`, `:`, `@` or `.` (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`, `llama3.2:3b` → `llama3.2`).
 * Local providers (vllm, ollama, lmstudio) cost 0 whatever this table says.
 */
import type { CatalogEntry } from '../config/types.js';

/** Model id → what is known of it. Keys are lower case. */
export const BUILTIN_CATALOG: Readonly<Record<string, Readonly<CatalogEntry>>> = Object.freeze({
  // ── OpenAI (openai.com/api/pricing) ──────────────────────────────────────────────────────────
  'gpt-4o': { contextWindow: 128_000, inputPerMTok: 2.5, outputPerMTok: 10, tasks: ['general', 'code'] },
  'gpt-4o-mini': { contextWindow: 128_000, inputPerMTok: 0.15, outputPerMTok: 0.6, tasks: ['general'] },
  'gpt-4.1': { contextWindow: 1_047_576, inputPerMTok: 2, outputPerMTok: 8, tasks: ['general', 'code', 'long'] },
  'gpt-4.1-mini': { contextWindow: 1_047_576, inputPerMTok: 0.4, outputPerMTok: 1.6, tasks: ['general', 'long'] },
  'gpt-5': { contextWindow: 400_000, inputPerMTok: 1.25, outputPerMTok: 10, tasks: ['reasoning', 'code', 'general', 'long'] },
  'gpt-5-mini': { contextWindow: 400_000, inputPerMTok: 0.25, outputPerMTok: 2, tasks: ['general', 'code'] },
  o3: { contextWindow: 200_000, inputPerMTok: 2, outputPerMTok: 8, tasks: ['reasoning', 'code'] },
  'o3-mini': { contextWindow: 200_000, inputPerMTok: 1.1, outputPerMTok: 4.4, tasks: ['reasoning', 'code'] },
  'o4-mini': { contextWindow: 200_000, inputPerMTok: 1.1, outputPerMTok: 4.4, tasks: ['reasoning', 'code'] },
  'text-embedding-3-small': { contextWindow: 8_191, inputPerMTok: 0.02, outputPerMTok: 0, tasks: ['embeddings'] },
  'text-embedding-3-large': { contextWindow: 8_191, inputPerMTok: 0.13, outputPerMTok: 0, tasks: ['embeddings'] },

  // ── open-weight models, at the price of the provider that usually serves them ─────────────────
  // gpt-oss-120b: Cerebras' price; Groq lists it (as openai/gpt-oss-120b) at about 0.15 / 0.75.
  'gpt-oss-120b': { contextWindow: 131_072, inputPerMTok: 0.25, outputPerMTok: 0.69, tasks: ['general', 'code', 'reasoning'] },
  'gpt-oss-20b': { contextWindow: 131_072, inputPerMTok: 0.1, outputPerMTok: 0.5, tasks: ['general'] },
  // Cerebras (cerebras.ai/pricing)
  'llama3.1-8b': { contextWindow: 32_768, inputPerMTok: 0.1, outputPerMTok: 0.1, tasks: ['general'] },
  'llama-3.3-70b': { contextWindow: 131_072, inputPerMTok: 0.85, outputPerMTok: 1.2, tasks: ['general'] },
  'qwen-3-32b': { contextWindow: 131_072, inputPerMTok: 0.4, outputPerMTok: 0.8, tasks: ['general', 'code'] },
  'qwen-3-235b-a22b-instruct-2507': { contextWindow: 131_072, inputPerMTok: 0.6, outputPerMTok: 1.2, tasks: ['general', 'code'] },
  'qwen-3-coder-480b': { contextWindow: 131_072, inputPerMTok: 2, outputPerMTok: 2, tasks: ['code'] },
  // GLM: Z.ai's list price for the family (a reseller may charge more).
  'zai-glm-4.6': { contextWindow: 131_072, inputPerMTok: 0.6, outputPerMTok: 2.2, tasks: ['general', 'code'] },
  'zai-glm-4.7': { contextWindow: 131_072, inputPerMTok: 0.6, outputPerMTok: 2.2, tasks: ['general', 'code'] },
  // Groq (groq.com/pricing)
  'llama-3.3-70b-versatile': { contextWindow: 131_072, inputPerMTok: 0.59, outputPerMTok: 0.79, tasks: ['general'] },
  'llama-3.1-8b-instant': { contextWindow: 131_072, inputPerMTok: 0.05, outputPerMTok: 0.08, tasks: ['general'] },
  // Together (together.ai/pricing); Llama 3.x 70B Turbo family price.
  'llama-3.3-70b-instruct-turbo': { contextWindow: 131_072, inputPerMTok: 0.88, outputPerMTok: 0.88, tasks: ['general', 'long'] },
  'meta-llama-3.1-70b-instruct-turbo': { contextWindow: 131_072, inputPerMTok: 0.88, outputPerMTok: 0.88, tasks: ['general', 'long'] },
  'm2-bert-80m-8k-retrieval': { contextWindow: 8_192, inputPerMTok: 0.008, outputPerMTok: 0, tasks: ['embeddings'] },

  // ── xAI (docs.x.ai, models page) ───────────────────────────────────────────────────────────────
  'grok-4': { contextWindow: 256_000, inputPerMTok: 3, outputPerMTok: 15, tasks: ['reasoning', 'code', 'long'] },
  'grok-4-fast-reasoning': { contextWindow: 2_000_000, inputPerMTok: 0.2, outputPerMTok: 0.5, tasks: ['reasoning', 'long'] },
  'grok-4-fast-non-reasoning': { contextWindow: 2_000_000, inputPerMTok: 0.2, outputPerMTok: 0.5, tasks: ['general', 'long'] },
  'grok-4-1-fast': { contextWindow: 2_000_000, inputPerMTok: 0.2, outputPerMTok: 0.5, tasks: ['general', 'long'] },
  'grok-code-fast-1': { contextWindow: 256_000, inputPerMTok: 0.2, outputPerMTok: 1.5, tasks: ['code'] },
  'grok-3-mini': { contextWindow: 131_072, inputPerMTok: 0.3, outputPerMTok: 0.5, tasks: ['reasoning'] },

  // ── DeepSeek (api-docs.deepseek.com/quick_start/pricing, from 2025-09-05: one price for both) ───
  'deepseek-chat': { contextWindow: 128_000, inputPerMTok: 0.56, outputPerMTok: 1.68, tasks: ['general', 'code'] },
  'deepseek-reasoner': { contextWindow: 128_000, inputPerMTok: 0.56, outputPerMTok: 1.68, tasks: ['reasoning'] },
  // R1 elsewhere (OpenRouter's deepseek/deepseek-r1, local deepseek-r1): DeepSeek's original R1 price.
  'deepseek-r1': { contextWindow: 128_000, inputPerMTok: 0.55, outputPerMTok: 2.19, tasks: ['reasoning'] },

  // ── Moonshot Kimi (platform.moonshot.ai); K2 family price ─────────────────────────────────────
  'kimi-k2': { contextWindow: 262_144, inputPerMTok: 0.6, outputPerMTok: 2.5, tasks: ['general', 'code', 'long'] },
  'kimi-k2.5': { contextWindow: 262_144, inputPerMTok: 0.6, outputPerMTok: 2.5, tasks: ['general', 'code', 'long'] },
  'kimi-k2-thinking': { contextWindow: 262_144, inputPerMTok: 0.6, outputPerMTok: 2.5, tasks: ['reasoning', 'code', 'long'] },

  // ── Mistral (mistral.ai/pricing) ───────────────────────────────────────────────────────────────
  'mistral-large-latest': { contextWindow: 131_072, inputPerMTok: 2, outputPerMTok: 6, tasks: ['general'] },
  'mistral-small-latest': { contextWindow: 131_072, inputPerMTok: 0.1, outputPerMTok: 0.3, tasks: ['general'] },
  'codestral-latest': { contextWindow: 256_000, inputPerMTok: 0.3, outputPerMTok: 0.9, tasks: ['code'] },
  'mistral-embed': { contextWindow: 8_192, inputPerMTok: 0.1, outputPerMTok: 0, tasks: ['embeddings'] },

  // ── Anthropic (anthropic.com/pricing); the dated ids match by prefix ─────────────────────────
  'claude-sonnet-4-5': { contextWindow: 200_000, inputPerMTok: 3, outputPerMTok: 15, tasks: ['code', 'reasoning', 'general', 'long'] },
  'claude-sonnet-4-6': { contextWindow: 200_000, inputPerMTok: 3, outputPerMTok: 15, tasks: ['code', 'reasoning', 'general', 'long'] },
  'claude-opus-4-5': { contextWindow: 200_000, inputPerMTok: 5, outputPerMTok: 25, tasks: ['reasoning', 'code', 'long'] },
  'claude-opus-4-6': { contextWindow: 200_000, inputPerMTok: 5, outputPerMTok: 25, tasks: ['reasoning', 'code', 'long'] },
  'claude-haiku-4-5': { contextWindow: 200_000, inputPerMTok: 1, outputPerMTok: 5, tasks: ['general', 'code'] },

  // ── Google Gemini (ai.google.dev/pricing; ≤ 200K-token prompts) ──────────────────────────────
  'gemini-2.5-pro': { contextWindow: 1_048_576, inputPerMTok: 1.25, outputPerMTok: 10, tasks: ['reasoning', 'code', 'long'] },
  'gemini-2.5-flash': { contextWindow: 1_048_576, inputPerMTok: 0.3, outputPerMTok: 2.5, tasks: ['general', 'long'] },
  'gemini-2.5-flash-lite': { contextWindow: 1_048_576, inputPerMTok: 0.1, outputPerMTok: 0.4, tasks: ['general', 'long'] },
  'gemini-embedding-001': { contextWindow: 2_048, inputPerMTok: 0.15, outputPerMTok: 0, tasks: ['embeddings'] },

  // ── models usually run locally (price 0 on vllm / ollama / lmstudio) ──────────────────────────
  'nomic-embed-text': { contextWindow: 8_192, tasks: ['embeddings'] },
  'llama3.2': { contextWindow: 131_072, tasks: ['general'] },
  'llama3.1': { contextWindow: 131_072, tasks: ['general'] },
  'qwen2.5-coder': { contextWindow: 32_768, tasks: ['code'] },
  'qwen3-coder': { contextWindow: 262_144, tasks: ['code'] },
});
