import type { ProviderName } from '../config/types.js';
import type { OptimizerError } from '../errors/registry.js';
import { compatibleHttpError } from './compatible-errors.js';
import type { AdapterRequest, AnswerContext, Json, PreparedCall, ProviderAdapter, StreamTranslator } from './adapter.js';
import { capabilityUnsupported } from './capability.js';
import { wantsUsage } from './json.js';
import { openAIModelList, type ModelList, type ModelListCall } from './model-list.js';
import { OpenAIStreamTranslator } from './openai-stream.js';
import { applyRequestQuirks, fixAnswer, fixChunk, fixesAnswers, needsRequestQuirks, PROVIDER_QUIRKS, type ProviderQuirks } from './quirks.js';

const PATH = { 'chat.completions': '/chat/completions', embeddings: '/embeddings' } as const;

/**
 * Every OpenAI-compatible provider (OpenAI, Groq, Cerebras, DeepSeek, Mistral, OpenRouter, vLLM,
 * Ollama's /v1, …): the body goes out as the client sent it with the provider's model id, the
 * answer comes back as it came, unless one of the provider's quirks (src/providers/quirks.ts)
 * applies to this request or answer.
 */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  readonly kind = 'openai-compatible' as const;
  readonly framing = 'sse' as const;
  readonly capabilities;
  readonly translates: boolean;
  readonly quirks: ProviderQuirks;
  readonly #fixes: boolean;
  readonly #fixChunk: (chunk: Json) => boolean;

  constructor(readonly provider: Exclude<ProviderName, 'anthropic' | 'gemini' | 'ollama-native'>) {
    this.quirks = PROVIDER_QUIRKS[provider];
    this.capabilities = { chat: true, embeddings: this.quirks.embeddings };
    this.#fixes = fixesAnswers(this.quirks);
    this.translates = this.#fixes;
    const quirks = this.quirks;
    this.#fixChunk = (chunk) => fixChunk(chunk, quirks);
  }

  unsupported(request: AdapterRequest, backendId: string): OptimizerError | undefined {
    if (request.endpoint === 'embeddings') {
      return this.quirks.embeddings ? undefined : capabilityUnsupported(backendId, this.provider, 'embeddings');
    }
    const n = request.body.n;
    if (this.quirks.singleChoice && typeof n === 'number' && n > 1) return capabilityUnsupported(backendId, this.provider, 'more than one choice (n > 1)', 'n');
    return undefined;
  }

  prepare(request: AdapterRequest): PreparedCall {
    const { body, model } = request;
    const out = request.endpoint === 'chat.completions' && needsRequestQuirks(body, model, this.quirks) ? applyRequestQuirks(body, model, this.quirks) : { ...body, model };
    return { method: 'POST', path: PATH[request.endpoint], body: JSON.stringify(out) };
  }

  error(status: number, headers: Record<string, string | string[] | undefined>, text: string, backendId: string): OptimizerError {
    return compatibleHttpError(this.provider, status, headers, text, backendId);
  }

  answer(value: unknown): Json | undefined {
    if (!this.#fixes || value === null || typeof value !== 'object') return undefined;
    return fixAnswer(value as Json, this.quirks) ? (value as Json) : undefined;
  }

  listModels(): ModelListCall {
    return { method: 'GET', path: '/models' };
  }

  modelList(value: unknown): ModelList {
    return openAIModelList(value, this.provider);
  }

  stream(context: AnswerContext): StreamTranslator {
    const asked = wantsUsage(context.request.body);
    const usageFallback = this.quirks.groqUsage === true && asked;
    const dropUsage = this.quirks.usageAlways === true && !asked;
    return new OpenAIStreamTranslator(context.backendId, this.#fixes ? this.#fixChunk : undefined, usageFallback, dropUsage);
  }
}
