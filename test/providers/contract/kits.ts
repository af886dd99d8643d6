/**
 * One kit per adapter for the shared contract suite (../contract.test.ts): how to start its
 * loopback upstream (speaking the provider's real wire format), the backend config entry, what
 * the upstream must have received, and that provider's failure shapes with the status and code
 * the optimizer must map them to.
 */
import type { QuotaState } from '../../../src/resilience/quota.js';
import { anthropicErrorBody, anthropicSpendLimitBody, startAnthropicUpstream } from '../../../src/loopback/anthropic-upstream.js';
import { geminiErrorBody, startGeminiUpstream } from '../../../src/loopback/gemini-upstream.js';
import { ollamaErrorBody, startOllamaUpstream } from '../../../src/loopback/ollama-upstream.js';
import { startOpenAIUpstream } from '../../../src/loopback/openai-upstream.js';
import type { NativeBehaviour } from '../../../src/loopback/scripted-server.js';

type Json = Record<string, any>;

/** The behaviours every loopback understands (the OpenAI one's are a superset). */
export type ContractBehaviour = NativeBehaviour;

/** What the suite needs of a loopback upstream, whichever format it speaks. */
export interface KitUpstream {
  readonly calls: number;
  /** The last request: its path (no query) and parsed body. */
  last(): { path: string; body: Json } | undefined;
  setDefault(behaviour: ContractBehaviour): void;
  reset(): void;
  close(): Promise<void>;
}

export interface ErrorCase {
  name: string;
  behaviour: ContractBehaviour;
  /** The code the backend's answer maps to (what delivery saw). */
  code: string;
  /** Whether the same backend is tried again (retryable); with one backend, retryable ones end in the dead-letter queue. */
  retried: boolean;
  /** For errors passed to the client as they are (the caller's 4xx): the status the client gets. */
  clientStatus?: number;
}

export interface Kit {
  name: string;
  /** Backend models: the first has a fallback to the spare backend, the second none. */
  models: [string, string];
  env: Record<string, string>;
  start(): Promise<{ upstream: KitUpstream; backend: Json }>;
  /** The provider model id the upstream saw in its last request. */
  seenModel(last: { path: string; body: Json }): unknown;
  /** Checks that a tool-call turn and its tool result reached the upstream in the provider's shape. */
  checkToolTurn(body: Json): void;
  /** A substring of the answer to a conversation ending in a tool result `42`. */
  afterToolReply: string;
  errors: ErrorCase[];
  /** A 429 in the provider's own shape and headers, telling to come back in 30 s. */
  rateLimited: ContractBehaviour;
  /** What the 429's headers told the quota tracker besides the cool-down. */
  checkQuota?(state: QuotaState): void;
  /**
   * A request this adapter cannot serve (checked before any upstream call). Kits without one can
   * do everything the suite asks (chat, streams, tools, embeddings, n > 1): the case is not generated.
   */
  unsupported?: { endpoint: 'chat' | 'embeddings'; extra: Json; capability: string };
}

const wrapOpenAI = async (options: Parameters<typeof startOpenAIUpstream>[0]) => {
  const upstream = await startOpenAIUpstream(options);
  const kitUpstream: KitUpstream = {
    get calls() {
      return upstream.calls;
    },
    last: () => {
      const r = upstream.requests.at(-1);
      return r ? { path: r.path, body: r.body as Json } : undefined;
    },
    setDefault: (b) => upstream.setDefault(b),
    reset: () => upstream.reset(),
    close: () => upstream.close(),
  };
  return { upstream, kitUpstream };
};

const wrapNative = (upstream: Awaited<ReturnType<typeof startAnthropicUpstream>>): KitUpstream => ({
  get calls() {
    return upstream.calls;
  },
  last: () => {
    const r = upstream.last;
    return r ? { path: r.path, body: r.body as Json } : undefined;
  },
  setDefault: (b) => upstream.setDefault(b),
  reset: () => upstream.reset(),
  close: () => upstream.close(),
});

const TIMEOUTS = { connectMs: 2000, headersMs: 5000, bodyIdleMs: 5000 };

const openAIErrors = (): ErrorCase[] => [
  { name: '400 invalid_request_error', behaviour: { kind: 'status', status: 400 }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 400 },
  { name: '401 invalid_api_key', behaviour: { kind: 'status', status: 401 }, code: 'UPSTREAM_AUTH_FAILED', retried: false },
  { name: '404 model_not_found', behaviour: { kind: 'status', status: 404 }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 404 },
  { name: '500 server_error', behaviour: { kind: 'status', status: 500 }, code: 'UPSTREAM_ERROR', retried: true },
  { name: '503 overloaded', behaviour: { kind: 'status', status: 503 }, code: 'UPSTREAM_ERROR', retried: true },
  {
    name: '429 insufficient_quota (a hard quota)',
    behaviour: { kind: 'status', status: 429, body: { error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } } },
    code: 'UPSTREAM_RATE_LIMITED',
    retried: false,
  },
];

const toolTurnAsSent = (body: Json) => {
  const [, , assistant, tool] = body.messages;
  if (assistant.tool_calls[0].function.arguments !== '{"input":"x"}') throw new Error('arguments changed');
  if (tool.role !== 'tool' || tool.content !== '42') throw new Error('tool message changed');
};

export const KITS: Kit[] = [
  {
    name: 'openai-compatible (pass-through)',
    models: ['test-model', 'test-solo'],
    env: {},
    async start() {
      const { upstream, kitUpstream } = await wrapOpenAI({ models: ['test-model', 'test-solo'] });
      return { upstream: kitUpstream, backend: { id: 'native', provider: 'openai-compatible', baseUrl: upstream.url, models: ['test-model', 'test-solo'], timeouts: TIMEOUTS } };
    },
    seenModel: (last) => last.body.model,
    checkToolTurn(body) {
      toolTurnAsSent(body);
      if (body.messages[2].tool_calls[0].id !== 'call_1' || body.messages[3].tool_call_id !== 'call_1') throw new Error('ids changed');
    },
    afterToolReply: 'echo: please call_tool now',
    errors: openAIErrors(),
    rateLimited: { kind: 'status', status: 429, retryAfterSeconds: 30 },
    checkQuota: (state) => {
      if (state.remainingRequests !== 0) throw new Error(`remainingRequests ${state.remainingRequests}`);
    },
  },
  {
    name: 'groq (OpenAI-compatible with quirks)',
    models: ['llama-3.3-70b-versatile', 'llama-solo'],
    env: { GROQ_TEST_KEY: 'gsk_loopback' },
    async start() {
      const { upstream, kitUpstream } = await wrapOpenAI({ flavour: 'groq', apiKey: 'gsk_loopback' });
      return {
        upstream: kitUpstream,
        backend: { id: 'native', provider: 'groq', baseUrl: upstream.url, apiKeyEnv: 'GROQ_TEST_KEY', models: ['llama-3.3-70b-versatile', 'llama-solo'], timeouts: TIMEOUTS },
      };
    },
    seenModel: (last) => last.body.model,
    checkToolTurn: toolTurnAsSent,
    afterToolReply: 'echo: please call_tool now',
    errors: openAIErrors(),
    rateLimited: { kind: 'status', status: 429, retryAfterSeconds: 30 },
    checkQuota: (state) => {
      if (state.remainingRequests !== 0) throw new Error(`remainingRequests ${state.remainingRequests}`);
    },
    unsupported: { endpoint: 'embeddings', extra: {}, capability: 'embeddings' },
  },
  {
    name: 'anthropic (native Messages API)',
    models: ['claude-sonnet-4-5', 'claude-solo'],
    env: { ANTHROPIC_TEST_KEY: 'sk-ant-loopback' },
    async start() {
      const upstream = await startAnthropicUpstream({ apiKey: 'sk-ant-loopback' });
      return {
        upstream: wrapNative(upstream),
        backend: { id: 'native', provider: 'anthropic', baseUrl: upstream.url, apiKeyEnv: 'ANTHROPIC_TEST_KEY', models: ['claude-sonnet-4-5', 'claude-solo'], timeouts: TIMEOUTS },
      };
    },
    seenModel: (last) => last.body.model,
    checkToolTurn(body) {
      const [, assistant, result] = body.messages;
      const use = assistant.content.find((b: Json) => b.type === 'tool_use');
      if (use.id !== 'call_1' || use.input.input !== 'x') throw new Error(`tool_use ${JSON.stringify(use)}`);
      if (result.role !== 'user' || result.content[0].type !== 'tool_result' || result.content[0].tool_use_id !== 'call_1') throw new Error(`tool_result ${JSON.stringify(result)}`);
      if (typeof body.max_tokens !== 'number' || body.system !== 'be brief') throw new Error('max_tokens / system');
    },
    afterToolReply: 'tool said: 42',
    errors: [
      { name: '400 invalid_request_error', behaviour: { kind: 'status', status: 400 }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 400 },
      { name: '401 authentication_error', behaviour: { kind: 'status', status: 401 }, code: 'UPSTREAM_AUTH_FAILED', retried: false },
      { name: '402 billing_error', behaviour: { kind: 'status', status: 402 }, code: 'UPSTREAM_ERROR', retried: false },
      { name: '404 not_found_error', behaviour: { kind: 'status', status: 404 }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 404 },
      { name: '413 request_too_large', behaviour: { kind: 'status', status: 413 }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 413 },
      { name: '500 api_error', behaviour: { kind: 'status', status: 500, body: anthropicErrorBody(500) }, code: 'UPSTREAM_ERROR', retried: true },
      { name: '529 overloaded_error', behaviour: { kind: 'status', status: 529 }, code: 'UPSTREAM_ERROR', retried: true },
      { name: '429 enforced_spend_limit_reached (never retried)', behaviour: { kind: 'status', status: 429, body: anthropicSpendLimitBody() }, code: 'UPSTREAM_RATE_LIMITED', retried: false },
    ],
    rateLimited: { kind: 'status', status: 429, retryAfterSeconds: 30 },
    checkQuota: (state) => {
      // anthropic-ratelimit-requests-remaining: 0, reset an RFC 3339 time 30 s ahead.
      if (state.remainingRequests !== 0 || state.resetRequestsAt === undefined) throw new Error(`quota ${JSON.stringify(state)}`);
    },
    unsupported: { endpoint: 'embeddings', extra: {}, capability: 'embeddings' },
  },
  {
    name: 'gemini (native generateContent)',
    models: ['gemini-2.5-flash', 'gemini-solo'],
    env: { GEMINI_TEST_KEY: 'AIza-loopback' },
    async start() {
      const upstream = await startGeminiUpstream({ apiKey: 'AIza-loopback' });
      return {
        upstream: wrapNative(upstream),
        backend: { id: 'native', provider: 'gemini', baseUrl: upstream.url, apiKeyEnv: 'GEMINI_TEST_KEY', models: ['gemini-2.5-flash', 'gemini-solo'], timeouts: TIMEOUTS },
      };
    },
    seenModel: (last) => /^\/v1beta\/models\/([^:]+):/.exec(last.path)?.[1],
    checkToolTurn(body) {
      const [, model, result] = body.contents;
      if (model.role !== 'model' || model.parts[0].functionCall.name !== 'lookup' || model.parts[0].functionCall.args.input !== 'x') throw new Error(`model turn ${JSON.stringify(model)}`);
      if (result.role !== 'user' || result.parts[0].functionResponse.name !== 'lookup') throw new Error(`function response ${JSON.stringify(result)}`);
      if (body.systemInstruction.parts[0].text !== 'be brief') throw new Error('systemInstruction');
    },
    afterToolReply: '42',
    errors: [
      { name: '400 INVALID_ARGUMENT', behaviour: { kind: 'status', status: 400 }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 400 },
      {
        name: '400 API_KEY_INVALID (our key, not the request)',
        behaviour: {
          kind: 'status',
          status: 400,
          body: { error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } },
        },
        code: 'UPSTREAM_AUTH_FAILED',
        retried: false,
      },
      { name: '403 PERMISSION_DENIED', behaviour: { kind: 'status', status: 403 }, code: 'UPSTREAM_AUTH_FAILED', retried: false },
      { name: '404 NOT_FOUND', behaviour: { kind: 'status', status: 404 }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 404 },
      { name: '500 INTERNAL', behaviour: { kind: 'status', status: 500 }, code: 'UPSTREAM_ERROR', retried: true },
      { name: '503 UNAVAILABLE', behaviour: { kind: 'status', status: 503 }, code: 'UPSTREAM_ERROR', retried: true },
      {
        name: '429 RESOURCE_EXHAUSTED per day (never retried today)',
        behaviour: { kind: 'status', status: 429, body: geminiErrorBody(429, { quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier', retryDelaySeconds: 1 }) },
        code: 'UPSTREAM_RATE_LIMITED',
        retried: false,
      },
    ],
    // Gemini sends no rate-limit headers: the wait is the body's RetryInfo.retryDelay.
    rateLimited: { kind: 'status', status: 429, retryAfterSeconds: 30 },
  },
  {
    name: 'ollama-native (/api/chat NDJSON)',
    models: ['llama3.2', 'llama-solo'],
    env: {},
    async start() {
      const upstream = await startOllamaUpstream({ models: ['llama3.2', 'llama-solo'] });
      return { upstream: wrapNative(upstream), backend: { id: 'native', provider: 'ollama-native', baseUrl: upstream.url, models: ['llama3.2', 'llama-solo'], timeouts: TIMEOUTS } };
    },
    seenModel: (last) => last.body.model,
    checkToolTurn(body) {
      const [, , assistant, tool] = body.messages;
      if (typeof assistant.tool_calls[0].function.arguments !== 'object' || assistant.tool_calls[0].function.arguments.input !== 'x') throw new Error('arguments not an object');
      if (tool.role !== 'tool' || tool.tool_name !== 'lookup') throw new Error(`tool message ${JSON.stringify(tool)}`);
    },
    afterToolReply: 'tool said: 42',
    errors: [
      { name: '400 {"error"}', behaviour: { kind: 'status', status: 400 }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 400 },
      { name: '404 model not found', behaviour: { kind: 'status', status: 404, body: ollamaErrorBody(404, 'llama3.2') }, code: 'UPSTREAM_REJECTED', retried: false, clientStatus: 404 },
      { name: '500 runner terminated', behaviour: { kind: 'status', status: 500 }, code: 'UPSTREAM_ERROR', retried: true },
    ],
    // Ollama Cloud: a bare 429 with retry-after.
    rateLimited: { kind: 'status', status: 429, retryAfterSeconds: 30 },
    unsupported: { endpoint: 'chat', extra: { n: 2 }, capability: 'more than one choice (n > 1)' },
  },
];
