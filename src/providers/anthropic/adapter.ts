import type { OptimizerError } from '../../errors/registry.js';
import type { AdapterRequest, AnswerContext, Json, PreparedCall, ProviderAdapter, StreamTranslator } from '../adapter.js';
import { capabilityUnsupported } from '../capability.js';
import { isObject, wantsUsage } from '../json.js';
import { anthropicHttpError } from './errors.js';
import { anthropicRequest } from './request.js';
import { openAICompletion } from './response.js';
import { AnthropicStreamTranslator } from './stream.js';
import { anthropicModelList, type ModelList, type ModelListCall } from '../model-list.js';

/** Anthropic's Messages API (`POST /v1/messages`, SSE streams with `event:` lines). No embeddings. */
export class AnthropicAdapter implements ProviderAdapter {
  readonly kind = 'anthropic' as const;
  readonly provider = 'anthropic' as const;
  readonly framing = 'sse' as const;
  readonly translates = true;
  readonly capabilities = { chat: true, embeddings: false };

  unsupported(request: AdapterRequest, backendId: string): OptimizerError | undefined {
    if (request.endpoint === 'embeddings') return capabilityUnsupported(backendId, this.provider, 'embeddings');
    const n = request.body.n;
    if (typeof n === 'number' && n > 1) return capabilityUnsupported(backendId, this.provider, 'more than one choice (n > 1)', 'n');
    return undefined;
  }

  prepare(request: AdapterRequest): PreparedCall {
    return { method: 'POST', path: '/v1/messages', body: JSON.stringify(anthropicRequest(request.body, request.model, request.stream)) };
  }

  error(status: number, headers: Record<string, string | string[] | undefined>, text: string, backendId: string): OptimizerError {
    return anthropicHttpError(status, headers, text, backendId);
  }

  answer(value: unknown, context: AnswerContext): Json | undefined {
    return openAICompletion(isObject(value) ? value : {}, context.request.model, context.now);
  }

  listModels(): ModelListCall {
    return { method: 'GET', path: '/v1/models?limit=1000' };
  }

  modelList(value: unknown): ModelList {
    return anthropicModelList(value);
  }

  stream(context: AnswerContext): StreamTranslator {
    return new AnthropicStreamTranslator(context.backendId, context.request.model, Math.floor(context.now / 1000), wantsUsage(context.request.body));
  }
}
