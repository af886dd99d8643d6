/**
 * Provider flavours of the OpenAI loopback (`startOpenAIUpstream({ flavour })`): what OpenAI's
 * reasoning models, Cerebras, Groq, Mistral, DeepSeek, Moonshot (Kimi), OpenRouter, xAI and vLLM
 * do differently from plain OpenAI, as providers.md §3 records it — the fields each rejects, with
 * that provider's real error status and body shape, its rate-limit headers, its error bodies per
 * status, its stream filler (comments, blank lines) and mid-stream error events, and the reasoning
 * field each answers with. Used by the quirk tests and the contract kits to prove the adapter's
 * fixes reach the wire.
 */
type Json = Record<string, unknown>;

export type Flavour = 'openai' | 'cerebras' | 'groq' | 'mistral' | 'deepseek' | 'moonshot' | 'openrouter' | 'xai' | 'vllm';

export interface Rejection {
  status: number;
  /** The JSON error body, as text. */
  body: string;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const CEREBRAS_REJECTS = ['frequency_penalty', 'presence_penalty', 'logit_bias', 'parallel_tool_calls', 'service_tier'];
const GROQ_REJECTS = ['logprobs', 'logit_bias', 'top_logprobs'];
const MISTRAL_REJECTS = ['n', 'max_completion_tokens'];
const ALNUM9 = /^[a-zA-Z0-9]{9}$/;

/** Why this flavour's provider would refuse the request, in its own error shape; undefined when it accepts it. */
export function flavourRejection(flavour: Flavour, body: Json): Rejection | undefined {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
  switch (flavour) {
    case 'cerebras': {
      const field = CEREBRAS_REJECTS.find((f) => body[f] !== undefined);
      if (field) return cerebras(field, `${field} is not supported at this time.`);
      if (body.tool_choice !== undefined && body.tool_choice !== 'auto' && body.tool_choice !== 'none') {
        return cerebras('tool_choice', 'Only "auto" and "none" are supported for tool_choice.');
      }
      return undefined;
    }
    case 'groq': {
      const field = GROQ_REJECTS.find((f) => body[f] !== undefined);
      if (field) return groq(`${field} is not supported`, field);
      if (body.n !== undefined && body.n !== 1) return groq("'n' : number must be at most 1", 'n');
      const named = messages.findIndex((m) => m.name !== undefined);
      if (named !== -1) return groq(`'messages.${named}' : for 'role:${String(messages[named]!.role)}' the following must be satisfied[('messages.${named}.name' : property 'name' is unsupported)]`, `messages.${named}.name`);
      return undefined;
    }
    case 'mistral': {
      const field = MISTRAL_REJECTS.find((f) => body[f] !== undefined);
      if (field) return mistralExtra(['body', field], body[field]);
      for (const [i, m] of messages.entries()) {
        if (m.name !== undefined) return mistralExtra(['body', 'messages', i, 'user', 'name'], m.name);
        if (m.role === 'assistant' && m.reasoning_content !== undefined) return mistralExtra(['body', 'messages', i, 'assistant', 'reasoning_content'], m.reasoning_content);
        const ids = [m.tool_call_id, ...(Array.isArray(m.tool_calls) ? m.tool_calls.map((c: unknown) => (isObject(c) ? c.id : undefined)) : [])];
        const bad = ids.find((id) => typeof id === 'string' && !ALNUM9.test(id));
        if (bad !== undefined) {
          return {
            status: 400,
            body: JSON.stringify({ object: 'error', message: `Tool call id was ${String(bad)} but must be a-z, A-Z, 0-9, with a length of 9.`, type: 'invalid_request_error', param: null, code: null }),
          };
        }
      }
      return undefined;
    }
    case 'deepseek': {
      // Thinking mode (every model but the non-thinking `deepseek-chat`, unless thinking is turned
      // on explicitly): an assistant turn that made tool calls must bring its reasoning_content back.
      const thinking = isObject(body.thinking) ? body.thinking.type === 'enabled' : body.model !== 'deepseek-chat';
      if (!thinking) return undefined;
      const missing = messages.findIndex((m) => m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0 && m.reasoning_content === undefined);
      if (missing !== -1) {
        return {
          status: 400,
          body: JSON.stringify({ error: { message: `Missing \`reasoning_content\` field in the assistant message at message index ${missing}.`, type: 'invalid_request_error', param: null, code: 'invalid_request_error' } }),
        };
      }
      return undefined;
    }
    case 'openai': {
      const model = typeof body.model === 'string' ? body.model : '';
      if (/^(?:o\d|gpt-5)/.test(model) && body.max_tokens !== undefined) {
        return openAIError(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", 'max_tokens', 'unsupported_parameter');
      }
      return undefined;
    }
    case 'xai': {
      const model = typeof body.model === 'string' ? body.model : '';
      if (body.reasoning_effort !== undefined && xaiRejectsReasoningEffort(model)) {
        return { status: 400, body: JSON.stringify({ code: 'Client specified an invalid argument', error: `Model ${model} does not support parameter reasoningEffort.` }) };
      }
      if (xaiIsReasoningModel(model)) {
        const field = ['presence_penalty', 'frequency_penalty', 'stop'].find((f) => body[f] !== undefined);
        if (field) return { status: 400, body: JSON.stringify({ code: 'Client specified an invalid argument', error: `Argument not supported on this model: ${field}` }) };
      }
      return undefined;
    }
    case 'moonshot': {
      // Kimi: more than one choice only with a temperature away from 0.
      if (typeof body.n === 'number' && body.n > 1 && (typeof body.temperature !== 'number' || body.temperature < 0.3)) {
        return { status: 400, body: JSON.stringify({ error: { message: 'Invalid request: when temperature is less than 0.3, n must be 1', type: 'invalid_request_error' } }) };
      }
      return undefined;
    }
    case 'openrouter':
    case 'vllm':
      return undefined; // vLLM ignores unknown fields; OpenRouter normalises for its providers
  }
}

/** xAI's grok-3 and grok-4 family (up to grok-4.2x) reject `reasoning_effort`; grok-3-mini and grok-4.3+ take it. */
export function xaiRejectsReasoningEffort(model: string): boolean {
  if (/^grok-3-mini/.test(model)) return false;
  return /^grok-3(?:$|-)/.test(model) || /^grok-4(?:$|-|\.[0-2]\d*(?:$|-))/.test(model);
}

/** xAI's reasoning models (grok-3-mini, grok-4 except its `-non-reasoning` variants) reject penalties and `stop`. */
export function xaiIsReasoningModel(model: string): boolean {
  return (/^grok-3-mini/.test(model) || /^grok-4/.test(model)) && !model.includes('non-reasoning');
}

function openAIError(status: number, message: string, param: string | null, code: string | number | null, type = 'invalid_request_error'): Rejection {
  return { status, body: JSON.stringify({ error: { message, type, param, code } }) };
}

function cerebras(param: string, message: string): Rejection {
  // Cerebras' flat error shape (no `error` wrapper).
  return { status: 400, body: JSON.stringify({ message, type: 'invalid_request_error', param, code: 'wrong_api_format' }) };
}

function groq(message: string, param: string): Rejection {
  return { status: 400, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param } }) };
}

function mistralExtra(loc: (string | number)[], input: unknown): Rejection {
  return { status: 422, body: JSON.stringify({ detail: [{ type: 'extra_forbidden', loc, msg: 'Extra inputs are not permitted', input }] }) };
}

/**
 * The reasoning field this flavour answers with (Groq, OpenRouter, vLLM: `reasoning`; DeepSeek,
 * Moonshot, xAI's grok-3-mini: `reasoning_content`), or undefined.
 */
export function flavourReasoningField(flavour: Flavour | undefined, model = ''): 'reasoning' | 'reasoning_content' | undefined {
  switch (flavour) {
    case 'groq':
    case 'openrouter':
    case 'vllm':
      return 'reasoning';
    case 'deepseek':
    case 'moonshot':
      return 'reasoning_content';
    case 'xai':
      return /^grok-3-mini/.test(model) ? 'reasoning_content' : undefined;
    default:
      return undefined;
  }
}

/** A tool-call id as this flavour makes them (Mistral: nine alphanumerics). */
export function flavourToolCallId(flavour: Flavour | undefined, sequence: number): string | undefined {
  return flavour === 'mistral' ? ('Mloop' + sequence.toString(36).padStart(4, '0')).slice(-9).padStart(9, 'M') : undefined;
}

// ── each flavour's wire: rate-limit headers, error bodies, stream filler ─────────────────────────

/** How a flavour's answers look on the wire besides the chat body itself. */
export interface FlavourWire {
  /** Rate-limit headers sent with every answer (flat `[name, value, …]`); empty for providers that send none. */
  readonly rateLimitHeaders: readonly string[];
  /** Headers of a 429 telling to come back in `seconds` (the provider's `retry-after` and rate-limit headers). */
  rateLimited(seconds: number): string[];
  /** The provider's error body (JSON text) for a status; undefined = OpenAI's. */
  errorBody(status: number, model: string, retryAfterSeconds: number): string | undefined;
  /** Written before a JSON body (DeepSeek's blank keep-alive lines while a request waits). */
  readonly jsonPrefix: string;
  /** A comment frame sent before the first event and between events (DeepSeek, OpenRouter). */
  readonly streamComment: string | undefined;
  /** The stream's usage chunk is sent whatever the client asked (OpenRouter). */
  readonly alwaysUsage: boolean;
  /** The in-stream error event (a complete `data:` frame) that ends a failing stream. */
  streamError(code: number, message: string, chunk: { id: string; created: number; model: string }): string;
}

const json = (value: unknown) => JSON.stringify(value);
const flat = (headers: Record<string, string>) => Object.entries(headers).flat();

/** OpenAI's family: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, resets as Go durations. */
function openAIHeaders(remaining: number, reset: string): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-limit-tokens': '30000000',
    'x-ratelimit-remaining-requests': String(remaining),
    'x-ratelimit-remaining-tokens': '29999000',
    'x-ratelimit-reset-requests': reset,
    'x-ratelimit-reset-tokens': '2ms',
  };
}

const genericStreamError = (code: number, message: string) => 'data: ' + json({ error: { code, message } }) + '\n\n';

/** The wire of one flavour (computed once when the loopback starts). */
export function flavourWire(flavour: Flavour): FlavourWire {
  const base: FlavourWire = {
    rateLimitHeaders: flat(openAIHeaders(9999, '6ms')),
    rateLimited: (seconds) => flat({ ...openAIHeaders(0, `${seconds}s`), 'retry-after': String(seconds) }),
    errorBody: () => undefined,
    jsonPrefix: '',
    streamComment: undefined,
    alwaysUsage: false,
    streamError: genericStreamError,
  };
  switch (flavour) {
    case 'openai':
      return base;
    case 'groq':
      // Groq: the request limit is per day, tokens per minute; resets like `2m59.56s`; retry-after on a 429 only.
      return {
        ...base,
        rateLimitHeaders: flat({ ...groqHeaders(14_399, '1m26.4s'), 'x-groq-region': 'loopback' }),
        rateLimited: (seconds) => flat({ ...groqHeaders(0, '2m59.56s'), 'retry-after': String(seconds) }),
      };
    case 'cerebras':
      return {
        ...base,
        rateLimitHeaders: flat(cerebrasHeaders(14_399, 59_000, 11.38)),
        rateLimited: (seconds) => flat({ ...cerebrasHeaders(14_399, 0, seconds), 'retry-after': String(seconds) }),
        errorBody: (status, model) => json(cerebrasError(status, model)),
      };
    case 'mistral':
      return {
        ...base,
        rateLimitHeaders: flat(mistralHeaders(4, 499_000)),
        rateLimited: (seconds) => flat({ ...mistralHeaders(0, 499_000), 'retry-after': String(seconds) }),
        errorBody: (status) => json(mistralError(status)),
      };
    case 'deepseek':
      // No rate-limit headers (no per-user cap); filler while a request waits.
      return {
        ...base,
        rateLimitHeaders: [],
        rateLimited: (seconds) => ['retry-after', String(seconds)],
        errorBody: (status) => json({ error: deepseekError(status) }),
        jsonPrefix: '\n\n',
        streamComment: ': keep-alive\n\n',
      };
    case 'moonshot':
      // No rate-limit headers; the wait is in the 429's message.
      return {
        ...base,
        rateLimitHeaders: [],
        rateLimited: () => [],
        errorBody: (status, _model, seconds) => json({ error: moonshotError(status, seconds) }),
      };
    case 'openrouter':
      return {
        ...base,
        rateLimitHeaders: [],
        rateLimited: (seconds) => ['retry-after', String(seconds)],
        errorBody: (status, model) => json({ error: openRouterError(status, model) }),
        streamComment: ': OPENROUTER PROCESSING\n\n',
        alwaysUsage: true,
        streamError: (code, message, chunk) =>
          'data: ' +
          json({
            id: chunk.id,
            object: 'chat.completion.chunk',
            created: chunk.created,
            model: chunk.model,
            provider: 'Loopback',
            error: { code, message },
            choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }],
          }) +
          '\n\n',
      };
    case 'xai':
      return {
        ...base,
        rateLimitHeaders: [],
        rateLimited: (seconds) => ['retry-after', String(seconds)],
        errorBody: (status, model) => json(xaiError(status, model)),
      };
    case 'vllm':
      return {
        ...base,
        rateLimitHeaders: [],
        rateLimited: (seconds) => ['retry-after', String(seconds)],
        errorBody: (status, model) => json({ error: vllmError(status, model) }),
      };
  }
}

function groqHeaders(remainingRequests: number, resetRequests: string): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': '14400',
    'x-ratelimit-limit-tokens': '6000',
    'x-ratelimit-remaining-requests': String(remainingRequests),
    'x-ratelimit-remaining-tokens': '5990',
    'x-ratelimit-reset-requests': resetRequests,
    'x-ratelimit-reset-tokens': '100ms',
  };
}

/** Cerebras: requests per day, tokens per minute, resets in seconds. */
function cerebrasHeaders(remainingRequests: number, remainingTokens: number, resetTokensSeconds: number): Record<string, string> {
  return {
    'x-ratelimit-limit-requests-day': '14400',
    'x-ratelimit-limit-tokens-minute': '60000',
    'x-ratelimit-remaining-requests-day': String(remainingRequests),
    'x-ratelimit-remaining-tokens-minute': String(remainingTokens),
    'x-ratelimit-reset-requests-day': '33011.382867097855',
    'x-ratelimit-reset-tokens-minute': String(resetTokensSeconds),
  };
}

/** Mistral: requests per 10 seconds, tokens per minute and per month; no resets. */
function mistralHeaders(remainingRequests: number, remainingTokens: number): Record<string, string> {
  return {
    'x-ratelimit-limit-req-10-second': '5',
    'x-ratelimit-remaining-req-10-second': String(remainingRequests),
    'x-ratelimit-limit-tokens-minute': '500000',
    'x-ratelimit-remaining-tokens-minute': String(remainingTokens),
    'x-ratelimit-limit-tokens-month': '1000000000',
    'x-ratelimit-remaining-tokens-month': '999000000',
    'x-ratelimit-tokens-query-cost': '12',
    'mistral-correlation-id': 'loopback',
  };
}

function cerebrasError(status: number, model: string): Json {
  const [type, code, message] =
    status === 401
      ? ['invalid_request_error', 'wrong_api_key', 'Wrong API Key']
      : status === 402
        ? ['payment_required', 'payment_required', 'Payment required.']
        : status === 404
          ? ['not_found_error', 'model_not_found', `Model ${model} does not exist or you do not have access to it.`]
          : status === 429
            ? ['too_many_tokens_error', 'token_quota_exceeded', 'Tokens per minute limit exceeded - too many tokens processed.']
            : status >= 500
              ? ['server_error', 'internal_error', 'Internal server error.']
              : ['invalid_request_error', 'wrong_api_format', 'Invalid request.'];
  return { message, type, param: null, code };
}

function mistralError(status: number): Json {
  if (status === 401) return { message: 'Unauthorized', request_id: 'loopback' };
  if (status === 422) return { detail: [{ type: 'extra_forbidden', loc: ['body', 'unknown'], msg: 'Extra inputs are not permitted', input: null }] };
  const [type, message] =
    status === 429 ? ['rate_limited', 'Requests rate limit exceeded'] : status >= 500 ? ['internal_server_error', 'Internal server error'] : status === 404 ? ['invalid_model', 'Invalid model'] : ['invalid_request_error', 'Invalid request'];
  return { object: 'error', message, type, param: null, code: status === 429 ? '1300' : null };
}

function deepseekError(status: number): Json {
  const message =
    status === 402
      ? 'Insufficient Balance'
      : status === 401
        ? 'Authentication Fails, Your api key: ****oop is invalid'
        : status === 422
          ? 'Invalid parameters'
          : status === 429
            ? 'Rate Limit Reached'
            : status === 503
              ? 'Server Overloaded'
              : status >= 500
                ? 'Server Error'
                : 'Invalid request';
  const type = status === 401 ? 'authentication_error' : status === 402 ? 'unknown_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { message, type, param: null, code: status === 402 ? 'invalid_request_error' : null };
}

/** Kimi's error types as its API names them. */
function moonshotError(status: number, seconds: number): Json {
  switch (status) {
    case 401:
      return { message: 'Invalid Authentication', type: 'invalid_authentication_error' };
    case 403:
      return { message: 'Your account is suspended, please check your plan and billing details', type: 'exceeded_current_quota_error' };
    case 404:
      return { message: 'Not found the model or Permission denied', type: 'resource_not_found_error' };
    case 429:
      return { message: `Your account org-loopback request reached organization max RPM: 20, please try again after ${seconds} seconds`, type: 'rate_limit_reached_error' };
    default:
      return status >= 500 ? { message: 'Internal server error', type: 'server_error' } : { message: 'Invalid request: bad input', type: 'invalid_request_error' };
  }
}

/** The overloaded 429 Kimi answers when the engine is busy (retry it). */
export function moonshotOverloadedBody(): Json {
  return { error: { message: 'The engine is currently overloaded, please try again later', type: 'engine_overloaded_error' } };
}

function openRouterError(status: number, model: string): Json {
  switch (status) {
    case 401:
      return { code: 401, message: 'No auth credentials found' };
    case 402:
      return { code: 402, message: 'Insufficient credits. Add more using https://openrouter.ai/credits' };
    case 403:
      return { code: 403, message: `${model} requires moderation on OpenRouter. Your input was flagged for "harassment".`, metadata: { reasons: ['harassment'], flagged_input: 'hello', provider_name: 'Loopback', model_slug: model } };
    case 404:
      return { code: 404, message: `No endpoints found for ${model}.` };
    case 408:
      return { code: 408, message: 'Request timed out' };
    case 429:
      return { code: 429, message: 'Rate limit exceeded: limit_rpm/loopback', metadata: { headers: { 'X-RateLimit-Limit': '20', 'X-RateLimit-Remaining': '0' } } };
    case 502:
      return { code: 502, message: 'Provider returned error', metadata: { raw: 'upstream error', provider_name: 'Loopback' } };
    case 503:
      return { code: 503, message: 'No allowed providers are available for the selected model.' };
    default:
      return { code: status, message: status >= 500 ? 'Internal Server Error' : 'Bad request' };
  }
}

/** xAI answers `{code, error}` (gRPC-style status text and the message). */
function xaiError(status: number, model: string): Json {
  const code =
    status === 400 ? 'Client specified an invalid argument' : status === 401 || status === 403 ? 'The caller does not have permission to execute the specified operation' : status === 404 ? 'Some requested entity was not found' : status === 429 ? 'Some resource has been exhausted' : 'Internal error';
  const error =
    status === 400 ? 'Invalid request content.' : status === 401 || status === 403 ? 'Incorrect API key provided: xa***op.' : status === 404 ? `The model ${model} does not exist or your team does not have access to it.` : status === 429 ? 'Too many requests.' : 'Service temporarily unavailable.';
  return { code, error };
}

/** vLLM's current error shape: the HTTP status as an integer `code`. */
function vllmError(status: number, model: string): Json {
  const [type, message] = status === 404 ? ['NotFoundError', `The model \`${model}\` does not exist.`] : status >= 500 ? ['InternalServerError', 'Internal server error'] : status === 401 ? ['Unauthorized', 'Unauthorized'] : ['BadRequestError', 'Invalid request'];
  return { message, type, param: null, code: status };
}
