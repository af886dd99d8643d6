import type { OptimizerError } from '../../errors/registry.js';
import type { AdapterRequest, AnswerContext, Json, PreparedCall, ProviderAdapter, StreamTranslator } from '../adapter.js';
import { isObject, wantsUsage } from '../json.js';
import { geminiEmbeddingCall, openAIEmbeddings } from './embeddings.js';
import { geminiHttpError } from './errors.js';
import { geminiRequest, modelPath } from './request.js';
import { openAICompletion } from './response.js';
import { GeminiStreamTranslator } from './stream.js';
import { geminiModelList, type ModelList, type ModelListCall } from '../model-list.js';

/** Google's Gemini API, native (`/models/{m}:generateContent`, `:streamGenerateContent?alt=sse`, `:embedContent`). */
export class GeminiAdapter implements ProviderAdapter {
  readonly kind = 'gemini' as const;
  readonly provider = 'gemini' as const;
  readonly framing = 'sse' as const;
  readonly translates = true;
  readonly capabilities = { chat: true, embeddings: true };

  unsupported(): OptimizerError | undefined {
    return undefined;
  }

  prepare(request: AdapterRequest): PreparedCall {
    if (request.endpoint === 'embeddings') {
      const call = geminiEmbeddingCall(request.body, request.model);
      return { method: 'POST', path: call.path, body: JSON.stringify(call.body) };
    }
    const path = `/models/${modelPath(request.model)}:${request.stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
    return { method: 'POST', path, body: JSON.stringify(geminiRequest(request.body, request.model)) };
  }

  error(status: number, headers: Record<string, string | string[] | undefined>, text: string, backendId: string): OptimizerError {
    return geminiHttpError(status, headers, text, backendId);
  }

  answer(value: unknown, context: AnswerContext): Json | undefined {
    const body = isObject(value) ? value : {};
    if (context.request.endpoint === 'embeddings') return openAIEmbeddings(body, context.request.body, context.request.model, context.backendId);
    return openAICompletion(body, context.request.model, context.now);
  }

  listModels(): ModelListCall {
    return { method: 'GET', path: '/models?pageSize=1000' };
  }

  modelList(value: unknown): ModelList {
    return geminiModelList(value);
  }

  stream(context: AnswerContext): StreamTranslator {
    return new GeminiStreamTranslator(context.backendId, context.request.model, context.now, wantsUsage(context.request.body));
  }
}
