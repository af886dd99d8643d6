/**
 * A loopback server speaking Google's Gemini API natively, under `/v1beta`:
 * `POST /models/{m}:generateContent`, `:streamGenerateContent?alt=sse` (SSE `data:` events, each a
 * whole GenerateContentResponse; the stream just ends, no `[DONE]`), `:embedContent` and
 * `:batchEmbedContents`. It checks `x-goog-api-key` (400 INVALID_ARGUMENT / API_KEY_INVALID, as
 * Gemini answers a wrong key), rejects unknown top-level fields with Gemini's 400 (`Unknown name
 * "stream_options"`), and answers `echo: <text of the last user turn>` (a `functionCall` followed
 * by a part holding only a `thoughtSignature` when tools are offered and the text contains
 * `call_tool` — for Gemini 3 models the signature sits on the `functionCall` part and a model turn
 * sent back without one is refused; a `thought` part first when it contains `think` or thoughts
 * are asked for). `thinkingConfig` is checked (a budget or a level, never both; a level only for
 * Gemini 3). `GET /models` lists `models`. Failures: `{"error":{code,
 * message,status,details}}` per status (429 RESOURCE_EXHAUSTED with a RetryInfo `retryDelay`),
 * and in streams an error as a JSON array `[{"error":…}]`.
 */
import type { ServerResponse } from 'node:http';
import { embeddingFor } from './openai-upstream.js';
import {
  sendFrames,
  sendJsonBody,
  sendMalformed,
  splitText,
  startScriptedServer,
  tokensOf,
  type Exchange,
  type NativeBehaviour,
  type NativeUpstream,
  type ScriptedOptions,
} from './scripted-server.js';

type Json = Record<string, unknown>;

export interface GeminiUpstreamOptions extends ScriptedOptions {
  /** When set, requests must carry `x-goog-api-key: <apiKey>`. */
  apiKey?: string;
  /** Text pieces per streamed answer. Default 3. */
  chunks?: number;
  /** Embedding length without `outputDimensionality`. Default 8. */
  embeddingDimensions?: number;
  /** Models listed by `GET /v1beta/models`. Default: two Gemini models and an embedding model. */
  models?: string[];
}

const STATUS_NAMES: Record<number, [string, string]> = {
  400: ['INVALID_ARGUMENT', 'Request contains an invalid argument.'],
  403: ['PERMISSION_DENIED', 'The caller does not have permission'],
  404: ['NOT_FOUND', 'models/unknown is not found for API version v1beta.'],
  429: ['RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.'],
  500: ['INTERNAL', 'An internal error has occurred.'],
  503: ['UNAVAILABLE', 'The model is overloaded. Please try again later.'],
  504: ['DEADLINE_EXCEEDED', 'The request timed out.'],
};

/** Gemini's error body for a status; a 429 carries RetryInfo (`retryDelay`) and a QuotaFailure. */
export function geminiErrorBody(status: number, options: { retryDelaySeconds?: number; quotaId?: string; message?: string } = {}): Json {
  const [name, text] = STATUS_NAMES[status] ?? (status >= 500 ? ['INTERNAL', `Upstream error ${status}.`] : ['FAILED_PRECONDITION', `Request failed with status ${status}.`]);
  const error: Json = { code: status, message: options.message ?? text, status: name };
  if (status === 429) {
    error.details = [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: options.quotaId ?? 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${options.retryDelaySeconds ?? 1}s` },
    ];
  }
  return { error };
}

const KNOWN_FIELDS = new Set(['contents', 'systemInstruction', 'generationConfig', 'tools', 'toolConfig', 'safetySettings', 'cachedContent']);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function partsText(content: unknown): string {
  const parts = isObject(content) && Array.isArray(content.parts) ? content.parts : [];
  return parts
    .filter(isObject)
    .map((p) => (typeof p.text === 'string' ? p.text : ''))
    .join('');
}

export function startGeminiUpstream(options: GeminiUpstreamOptions = {}): Promise<NativeUpstream> {
  const chunks = options.chunks ?? 3;
  const dims = options.embeddingDimensions ?? 8;
  let sequence = 0;

  const fail = (res: ServerResponse, status: number, message?: string, details?: Json[]) => {
    const body = geminiErrorBody(status, message === undefined ? {} : { message });
    if (details) (body.error as Json).details = details;
    sendJsonBody(res, status, body);
  };

  function generate({ res, recorded, behaviour }: Exchange, model: string, stream: boolean): void {
    const body = recorded.body;
    if (!isObject(body)) return fail(res, 400, 'Invalid JSON payload received.');
    for (const field of Object.keys(body)) {
      if (!KNOWN_FIELDS.has(field)) return fail(res, 400, `Invalid JSON payload received. Unknown name "${field}": Cannot find field.`);
    }
    const contents = Array.isArray(body.contents) ? body.contents.filter(isObject) : [];
    if (contents.length === 0) return fail(res, 400, '* GenerateContentRequest.contents: contents is not specified');
    for (const c of contents) if (c.role !== 'user' && c.role !== 'model') return fail(res, 400, `Please use a valid role: user, model.`);
    const gemini3 = model.startsWith('gemini-3');
    // Thinking: a budget (2.5) or a level (3), never both.
    const config = isObject(body.generationConfig) ? body.generationConfig : {};
    const thinkingConfig = isObject(config.thinkingConfig) ? config.thinkingConfig : undefined;
    if (thinkingConfig) {
      if (thinkingConfig.thinkingBudget !== undefined && thinkingConfig.thinkingLevel !== undefined) {
        return fail(res, 400, 'You can only set only one of thinking budget and thinking level.');
      }
      if (thinkingConfig.thinkingLevel !== undefined && !gemini3) return fail(res, 400, 'Thinking level is not supported for this model.');
      if (thinkingConfig.thinkingBudget === 0 && model.includes('-pro')) return fail(res, 400, 'Budget 0 is invalid. This model only works in thinking mode.');
    }
    // Gemini 3: the first function call of each model step must carry its thought signature.
    if (gemini3) {
      for (const [i, c] of contents.entries()) {
        const calls = (Array.isArray(c.parts) ? c.parts.filter(isObject) : []).filter((p) => isObject(p.functionCall));
        const first = calls[0];
        if (c.role === 'model' && first && typeof first.thoughtSignature !== 'string') {
          return fail(res, 400, `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${String((first.functionCall as Json).name)}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
        }
      }
    }
    const last = contents[contents.length - 1]!;
    const lastParts = Array.isArray(last.parts) ? last.parts.filter(isObject) : [];
    const functionResponse = lastParts.find((p) => isObject(p.functionResponse))?.functionResponse as Json | undefined;
    const text = partsText(last);
    const declarations = (Array.isArray(body.tools) ? body.tools : []).flatMap((t: unknown) => (isObject(t) && Array.isArray(t.functionDeclarations) ? t.functionDeclarations.filter(isObject) : []));
    const mode = isObject(body.toolConfig) && isObject(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : {};
    const allowed = Array.isArray(mode.allowedFunctionNames) ? mode.allowedFunctionNames : [];
    const toolName = declarations.length > 0 && text.includes('call_tool') ? String(allowed[0] ?? declarations[0]!.name) : undefined;
    const reply = functionResponse ? `tool said: ${JSON.stringify(functionResponse.response)}` : `echo: ${text}`;
    const thinksAloud = thinkingConfig?.includeThoughts === true && thinkingConfig.thinkingBudget !== 0;
    const thought = thinksAloud || text.includes('think') ? `thinking about: ${text}` : undefined;
    const responseId = `gemini-loopback-${++sequence}`;
    const modelVersion = model;
    let promptChars = 0;
    for (const c of contents) promptChars += partsText(c).length;
    const prompt = tokensOf(promptChars);
    const candidates = tokensOf(toolName ? text.length + 12 : reply.length);
    const thoughts = thought ? tokensOf(thought.length) : 0;
    const usageMetadata: Json = { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates + thoughts };
    if (thought) usageMetadata.thoughtsTokenCount = thoughts;
    const answerParts = (pieceText: string | undefined): Json[] => {
      // Gemini 3 signs the function call part itself; 2.5 may close with a part holding only a signature.
      if (toolName && gemini3) return [{ functionCall: { name: toolName, args: { input: text } }, thoughtSignature: `c2lnLW${responseId}` }];
      if (toolName) return [{ functionCall: { name: toolName, args: { input: text } } }, { thoughtSignature: 'c2lnbmF0dXJl' }];
      return pieceText === undefined ? [] : [{ text: pieceText }];
    };

    if (!stream) {
      const parts: Json[] = [];
      if (thought) parts.push({ text: thought, thought: true });
      parts.push(...answerParts(reply));
      const answer = { candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion, responseId };
      if (behaviour.kind === 'malformed') sendMalformed(res, answer);
      else sendJsonBody(res, 200, answer);
      return;
    }
    const frame = (value: unknown) => `data: ${JSON.stringify(value)}\r\n\r\n`;
    const content: string[] = [];
    if (thought) content.push(frame({ candidates: [{ content: { role: 'model', parts: [{ text: thought, thought: true }] }, index: 0 }], usageMetadata: { promptTokenCount: prompt }, modelVersion, responseId }));
    const pieces = toolName ? [''] : splitText(reply, chunks);
    pieces.forEach((piece, i) => {
      const final = i === pieces.length - 1;
      const candidate: Json = { content: { role: 'model', parts: toolName ? answerParts(undefined) : [{ text: piece }] }, index: 0 };
      if (final) candidate.finishReason = 'STOP';
      content.push(frame({ candidates: [candidate], usageMetadata: final ? usageMetadata : { promptTokenCount: prompt }, modelVersion, responseId }));
    });
    const message = behaviour.kind === 'stream-error' ? (behaviour.message ?? 'An internal error has occurred.') : 'An internal error has occurred.';
    sendFrames(res, 'text/event-stream', { head: [], content, tail: [] }, behaviour, {
      // Gemini reports a failure mid-stream as an array holding the error.
      errorFrame: frame([{ error: { code: 500, message, status: 'INTERNAL' } }]),
      badFrame: 'data: {"candidates":[{"content":\r\n\r\n',
    });
  }

  function embed({ res, recorded, behaviour }: Exchange, batch: boolean): void {
    const body = recorded.body;
    if (!isObject(body)) return fail(res, 400, 'Invalid JSON payload received.');
    const vector = (request: Json) => {
      const size = typeof request.outputDimensionality === 'number' ? request.outputDimensionality : dims;
      return { values: Array.from(embeddingFor(partsText(request.content), size)) };
    };
    let answer: Json;
    if (batch) {
      const requests = Array.isArray(body.requests) ? body.requests.filter(isObject) : [];
      if (requests.length === 0) return fail(res, 400, '* BatchEmbedContentsRequest.requests: requests is not specified');
      answer = { embeddings: requests.map(vector) };
    } else {
      if (!isObject(body.content)) return fail(res, 400, '* EmbedContentRequest.content: content is not specified');
      answer = { embedding: vector(body) };
    }
    if (behaviour.kind === 'malformed') sendMalformed(res, answer);
    else sendJsonBody(res, 200, answer);
  }

  return startScriptedServer(
    {
      basePath: '/v1beta',
      preflight({ req, res, recorded }) {
        const key = req.headers['x-goog-api-key'];
        if (options.apiKey !== undefined && key !== options.apiKey) {
          if (key === undefined) fail(res, 403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.');
          else {
            fail(res, 400, 'API key not valid. Please pass a valid API key.', [
              { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
            ]);
          }
          return true;
        }
        if (recorded.method === 'GET' && recorded.path === '/v1beta/models') {
          const names = options.models ?? ['gemini-2.5-flash', 'gemini-3-pro-preview', 'gemini-embedding-001'];
          const pageSize = Math.min(1000, Number(recorded.query.get('pageSize') ?? 50) || 50);
          const models = names.slice(0, pageSize).map((name) => ({
            name: `models/${name}`,
            version: '001',
            displayName: name,
            inputTokenLimit: 1_048_576,
            outputTokenLimit: 65_536,
            supportedGenerationMethods: name.includes('embedding') ? ['embedContent'] : ['generateContent', 'countTokens'],
          }));
          sendJsonBody(res, 200, names.length > pageSize ? { models, nextPageToken: 'loopback-next' } : { models });
          return true;
        }
        if (recorded.method !== 'POST' || !/^\/v1beta\/models\/[^:/]+:(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/.test(recorded.path)) {
          fail(res, 404, `The requested URL ${recorded.path} was not found on this server.`);
          return true;
        }
        if (recorded.path.endsWith(':streamGenerateContent') && recorded.query.get('alt') !== 'sse') {
          fail(res, 400, 'This loopback streams only with alt=sse.');
          return true;
        }
        return false;
      },
      answer(exchange) {
        const { res, recorded, behaviour } = exchange;
        if (behaviour.kind === 'status') {
          const headers: Record<string, string> = { ...(behaviour.headers ?? {}) };
          if (behaviour.retryAfterSeconds !== undefined && behaviour.status !== 429) headers['retry-after'] = String(behaviour.retryAfterSeconds);
          const body = behaviour.body ?? geminiErrorBody(behaviour.status, behaviour.retryAfterSeconds === undefined ? {} : { retryDelaySeconds: behaviour.retryAfterSeconds });
          sendJsonBody(res, behaviour.status, body, headers);
          return;
        }
        const [, model = '', method = ''] = /^\/v1beta\/models\/([^:/]+):(\w+)$/.exec(recorded.path) ?? [];
        if (method === 'embedContent' || method === 'batchEmbedContents') embed(exchange, method === 'batchEmbedContents');
        else generate(exchange, decodeURIComponent(model), method === 'streamGenerateContent');
      },
    },
    options,
  );
}

export type { NativeBehaviour, NativeUpstream };
