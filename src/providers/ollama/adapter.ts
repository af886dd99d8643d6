import type { OptimizerError } from '../../errors/registry.js';
import { upstreamHttpError } from '../../upstream/http-error.js';
import type { AdapterRequest, AnswerContext, Json, PreparedCall, ProviderAdapter, StreamTranslator } from '../adapter.js';
import { capabilityUnsupported } from '../capability.js';
import { isObject, wantsUsage } from '../json.js';
import { ollamaChatRequest, ollamaEmbedRequest } from './request.js';
import { chatId, openAICompletion, openAIEmbeddings } from './response.js';
import { OllamaStreamTranslator } from './stream.js';
import { ollamaModelList, type ModelList, type ModelListCall } from '../model-list.js';

/** Ollama's own API (`/api/chat` NDJSON streams, `/api/embed`); `ollama` is its OpenAI-compatible /v1. */
export class OllamaNativeAdapter implements ProviderAdapter {
  readonly kind = 'ollama-native' as const;
  readonly provider = 'ollama-native' as const;
  readonly framing = 'ndjson' as const;
  readonly translates = true;
  readonly capabilities = { chat: true, embeddings: true };
  #sequence = 0;

  unsupported(request: AdapterRequest, backendId: string): OptimizerError | undefined {
    const n = request.body.n;
    if (request.endpoint === 'chat.completions' && typeof n === 'number' && n > 1) return capabilityUnsupported(backendId, this.provider, 'more than one choice (n > 1)', 'n');
    return undefined;
  }

  prepare(request: AdapterRequest): PreparedCall {
    if (request.endpoint === 'embeddings') return { method: 'POST', path: '/api/embed', body: JSON.stringify(ollamaEmbedRequest(request.body, request.model)) };
    return { method: 'POST', path: '/api/chat', body: JSON.stringify(ollamaChatRequest(request.body, request.model, request.stream)) };
  }

  /** Ollama's errors are `{"error":"…"}` with the status (404 unknown model, 400, 500): the shared mapper reads them. */
  error(status: number, headers: Record<string, string | string[] | undefined>, text: string, backendId: string): OptimizerError {
    return upstreamHttpError(status, headers, text, backendId);
  }

  answer(value: unknown, context: AnswerContext): Json | undefined {
    const body = isObject(value) ? value : {};
    // An error object on a 200 (a runner that died while answering).
    if (body.error !== undefined) throw upstreamHttpError(500, {}, JSON.stringify({ error: body.error }), context.backendId);
    if (context.request.endpoint === 'embeddings') return openAIEmbeddings(body, context.request.body, context.request.model);
    return openAICompletion(body, context.request.model, context.now, chatId(context.now, ++this.#sequence));
  }

  listModels(): ModelListCall {
    return { method: 'GET', path: '/api/tags' };
  }

  modelList(value: unknown): ModelList {
    return ollamaModelList(value);
  }

  stream(context: AnswerContext): StreamTranslator {
    return new OllamaStreamTranslator(context.backendId, context.request.model, chatId(context.now, ++this.#sequence), Math.floor(context.now / 1000), wantsUsage(context.request.body));
  }
}
