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
import { moonshotOverloadedBody, type Flavour } from '../../../src/loopback/openai-flavours.js';
import type { ProviderName } from '../../../src/config/types.js';
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
  /**
   * What this provider needs fixed (its quirks) or does its own way: each a plain chat request
   * (`extra` over the default one, to `model` or the solo model) that must be answered 200, with
   * `check` reading what reached the wire and what the client got.
   */
  fixes?: FixCase[];
}

export interface FixCase {
  name: string;
  /** A backend model (the kit's backend serves it); default: the solo model. */
  model?: string;
  extra: Json;
  check(sent: Json, answer: Json): void;
}

/** A failed expectation inside a kit (the suite reports it as the case's failure). */
export function expectThat(ok: boolean, what: string, value?: unknown): void {
  if (!ok) throw new Error(`${what}${value === undefined ? '' : `: ${JSON.stringify(value)}`}`);
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

// ── the OpenAI-compatible providers with quirks, each against the loopback in its flavour ─────────

const TOOLS = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { input: { type: 'string' } } } } }];
const ALNUM9 = /^[a-zA-Z0-9]{9}$/;
const status = (code: number, name: string, mapped: string, retried: boolean, clientStatus?: number, body?: unknown): ErrorCase => ({
  name,
  behaviour: body === undefined ? { kind: 'status', status: code } : { kind: 'status', status: code, body },
  code: mapped,
  retried,
  ...(clientStatus === undefined ? {} : { clientStatus }),
});
const noEmbeddings = { endpoint: 'embeddings' as const, extra: {}, capability: 'embeddings' };
const quotaIs = (want: Partial<QuotaState>, near?: { field: 'resetRequestsAt' | 'resetTokensAt'; inMs: number }) => (state: QuotaState) => {
  for (const [key, value] of Object.entries(want)) expectThat(state[key as keyof QuotaState] === value, `quota ${key} ${String(state[key as keyof QuotaState])} ≠ ${String(value)}`, state);
  if (near) {
    const at = state[near.field];
    expectThat(at !== undefined && Math.abs(at - (Date.now() + near.inMs)) < 5_000, `quota ${near.field} not ≈ now + ${near.inMs} ms`, state);
  }
};

interface FlavourKit {
  name: string;
  provider: ProviderName;
  flavour: Flavour;
  models: [string, string];
  /** More models the backend serves (for fix cases aimed at one model). */
  more?: string[];
  errors: ErrorCase[];
  rateLimited?: ContractBehaviour;
  checkQuota?(state: QuotaState): void;
  checkToolTurn?(body: Json): void;
  unsupported?: Kit['unsupported'];
  fixes?: FixCase[];
}

function flavourKit(k: FlavourKit): Kit {
  const env = `${k.flavour.toUpperCase()}_TEST_KEY`;
  const key = `${k.flavour}-loopback-key`;
  const models = [...k.models, ...(k.more ?? [])];
  return {
    name: `${k.name} (OpenAI-compatible, ${k.flavour} flavour)`,
    models: k.models,
    env: { [env]: key },
    async start() {
      const { upstream, kitUpstream } = await wrapOpenAI({ flavour: k.flavour, apiKey: key, models });
      return { upstream: kitUpstream, backend: { id: 'native', provider: k.provider, baseUrl: upstream.url, apiKeyEnv: env, models, timeouts: TIMEOUTS } };
    },
    seenModel: (last) => last.body.model,
    checkToolTurn: k.checkToolTurn ?? toolTurnAsSent,
    afterToolReply: 'echo: please call_tool now',
    errors: k.errors,
    rateLimited: k.rateLimited ?? { kind: 'status', status: 429, retryAfterSeconds: 30 },
    ...(k.checkQuota ? { checkQuota: k.checkQuota } : {}),
    ...(k.unsupported ? { unsupported: k.unsupported } : {}),
    ...(k.fixes ? { fixes: k.fixes } : {}),
  };
}

function flavourKits(): Kit[] {
  return [
    flavourKit({
      name: 'openai',
      provider: 'openai',
      flavour: 'openai',
      models: ['gpt-5-mini', 'o4-mini'],
      errors: openAIErrors(),
      checkQuota: quotaIs({ remainingRequests: 0 }, { field: 'resetRequestsAt', inMs: 30_000 }),
      fixes: [
        {
          name: "max_tokens becomes max_completion_tokens for a reasoning model (OpenAI's 400 unsupported_parameter otherwise)",
          extra: { max_tokens: 64 },
          check: (sent) => expectThat(sent.max_completion_tokens === 64 && !('max_tokens' in sent), 'max tokens as sent', sent),
        },
      ],
    }),
    flavourKit({
      name: 'cerebras',
      provider: 'cerebras',
      flavour: 'cerebras',
      models: ['gpt-oss-120b', 'llama-3.3-70b'],
      errors: [
        status(400, '400 wrong_api_format (flat body)', 'UPSTREAM_REJECTED', false, 400),
        status(401, '401 wrong_api_key', 'UPSTREAM_AUTH_FAILED', false),
        status(402, '402 payment_required', 'UPSTREAM_ERROR', false),
        status(404, '404 model_not_found', 'UPSTREAM_REJECTED', false, 404),
        status(500, '500 internal_error', 'UPSTREAM_ERROR', true),
        status(503, '503 overloaded', 'UPSTREAM_ERROR', true),
      ],
      // x-ratelimit-*-requests-day and *-tokens-minute, resets in seconds.
      checkQuota: quotaIs({ remainingTokens: 0, limitTokens: 60_000, remainingRequests: 14_399, limitRequests: 14_400 }, { field: 'resetTokensAt', inMs: 30_000 }),
      unsupported: noEmbeddings,
      fixes: [
        {
          name: 'penalties, parallel_tool_calls and tool_choice "required" (each a 400 there) are fixed',
          extra: { frequency_penalty: 0.2, presence_penalty: 0.1, parallel_tool_calls: false, tools: TOOLS, tool_choice: 'required', messages: [{ role: 'user', content: 'please call_tool now' }] },
          check(sent, answer) {
            expectThat(!('frequency_penalty' in sent) && !('presence_penalty' in sent) && !('parallel_tool_calls' in sent), 'dropped fields', sent);
            expectThat(sent.tool_choice === 'auto', 'tool_choice', sent.tool_choice);
            expectThat(answer.choices[0].message.tool_calls[0].function.name === 'lookup', 'tool call', answer);
          },
        },
      ],
    }),
    flavourKit({
      name: 'mistral',
      provider: 'mistral',
      flavour: 'mistral',
      models: ['mistral-large-latest', 'mistral-small-latest'],
      errors: [
        status(400, '400 invalid_request_error ({object:"error"} body)', 'UPSTREAM_REJECTED', false, 400),
        status(401, '401 Unauthorized', 'UPSTREAM_AUTH_FAILED', false),
        status(422, '422 extra_forbidden ({detail:[…]})', 'UPSTREAM_REJECTED', false, 422),
        status(500, '500 internal_server_error', 'UPSTREAM_ERROR', true),
      ],
      // x-ratelimit-*-req-10-second (no reset: the window's length) and *-tokens-minute / -month.
      checkQuota: quotaIs({ remainingRequests: 0, limitRequests: 5, remainingTokens: 499_000, limitTokens: 500_000 }, { field: 'resetRequestsAt', inMs: 10_000 }),
      checkToolTurn(body) {
        toolTurnAsSent(body);
        const id = body.messages[2].tool_calls[0].id;
        expectThat(ALNUM9.test(id) && body.messages[3].tool_call_id === id, 'tool-call ids rewritten to 9 alphanumerics', body.messages);
      },
      unsupported: { endpoint: 'chat', extra: { n: 2 }, capability: 'more than one choice (n > 1)' },
      fixes: [
        {
          name: 'n: 1, messages[].name and max_completion_tokens (each a 422 extra_forbidden there) are fixed',
          extra: { n: 1, max_completion_tokens: 32, messages: [{ role: 'user', content: 'hello', name: 'bob' }] },
          check(sent, answer) {
            expectThat(sent.max_tokens === 32 && !('max_completion_tokens' in sent) && !('n' in sent) && !('name' in sent.messages[0]), 'fixed body', sent);
            expectThat(answer.choices[0].message.content === 'echo: hello', 'answer', answer);
          },
        },
      ],
    }),
    flavourKit({
      name: 'deepseek',
      provider: 'deepseek',
      flavour: 'deepseek',
      // The solo model is the non-thinking deepseek-chat: the suite's tool turn carries no reasoning_content.
      models: ['deepseek-v4-flash', 'deepseek-chat'],
      more: ['deepseek-reasoner'],
      errors: [
        status(400, '400 invalid request', 'UPSTREAM_REJECTED', false, 400),
        status(401, '401 authentication fails', 'UPSTREAM_AUTH_FAILED', false),
        status(402, '402 Insufficient Balance', 'UPSTREAM_ERROR', false),
        status(422, '422 invalid parameters', 'UPSTREAM_REJECTED', false, 422),
        status(500, '500 server error', 'UPSTREAM_ERROR', true),
        status(503, '503 server overloaded', 'UPSTREAM_ERROR', true),
      ],
      checkToolTurn(body) {
        toolTurnAsSent(body);
      },
      unsupported: noEmbeddings,
      fixes: [
        {
          name: 'thinking mode: reasoning_content kept on the tool-call turn (a 400 without it), dropped on other turns; keep-alive filler skipped',
          model: 'deepseek-reasoner',
          extra: {
            messages: [
              { role: 'user', content: 'first' },
              { role: 'assistant', content: 'plain', reasoning_content: 'old thoughts' },
              { role: 'user', content: 'please call_tool now' },
              { role: 'assistant', content: null, reasoning_content: 'need a tool', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
              { role: 'tool', tool_call_id: 'call_1', content: '42' },
            ],
          },
          check(sent, answer) {
            expectThat(!('reasoning_content' in sent.messages[1]) && sent.messages[3].reasoning_content === 'need a tool', 'reasoning_content as sent', sent.messages);
            expectThat(answer.choices[0].message.reasoning_content === 'thinking: please call_tool now', 'reasoning_content answered', answer);
          },
        },
      ],
    }),
    flavourKit({
      name: 'moonshot (Kimi)',
      provider: 'moonshot',
      flavour: 'moonshot',
      models: ['kimi-k2.5', 'kimi-k2-thinking'],
      errors: [
        status(400, '400 invalid_request_error', 'UPSTREAM_REJECTED', false, 400),
        status(401, '401 invalid_authentication_error', 'UPSTREAM_AUTH_FAILED', false),
        status(403, '403 exceeded_current_quota_error (a hard quota)', 'UPSTREAM_AUTH_FAILED', false),
        status(404, '404 resource_not_found_error', 'UPSTREAM_REJECTED', false, 404),
        status(429, '429 engine_overloaded_error', 'UPSTREAM_RATE_LIMITED', true, undefined, moonshotOverloadedBody()),
        status(500, '500 server_error', 'UPSTREAM_ERROR', true),
      ],
      // 429 rate_limit_reached_error without retry-after: "please try again after 30 seconds".
      unsupported: noEmbeddings,
      fixes: [
        {
          name: 'max_completion_tokens becomes max_tokens; reasoning_content stays on every assistant turn',
          extra: { max_completion_tokens: 32, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b', reasoning_content: 'r' }, { role: 'user', content: 'hello' }] },
          check(sent, answer) {
            expectThat(sent.max_tokens === 32 && !('max_completion_tokens' in sent) && sent.messages[1].reasoning_content === 'r', 'body as sent', sent);
            expectThat(answer.choices[0].message.reasoning_content === 'thinking: hello', 'reasoning_content answered', answer);
          },
        },
      ],
    }),
    flavourKit({
      name: 'openrouter',
      provider: 'openrouter',
      flavour: 'openrouter',
      models: ['moonshotai/kimi-k2', 'openai/gpt-oss-120b'],
      errors: [
        status(400, '400 {"error":{"code":400}}', 'UPSTREAM_REJECTED', false, 400),
        status(401, '401 no auth credentials', 'UPSTREAM_AUTH_FAILED', false),
        status(402, '402 insufficient credits', 'UPSTREAM_ERROR', false),
        status(403, '403 flagged by moderation (the caller\'s input)', 'UPSTREAM_REJECTED', false, 403),
        status(404, '404 no endpoints found', 'UPSTREAM_REJECTED', false, 404),
        status(408, '408 request timed out', 'UPSTREAM_ERROR', true),
        status(502, '502 provider returned error', 'UPSTREAM_ERROR', true),
        status(503, '503 no available provider', 'UPSTREAM_ERROR', true),
      ],
      fixes: [
        {
          name: 'its `reasoning` answered as reasoning_content',
          extra: {},
          check: (_sent, answer) => expectThat(answer.choices[0].message.reasoning_content === 'thinking: hello' && !('reasoning' in answer.choices[0].message), 'reasoning', answer),
        },
      ],
    }),
    flavourKit({
      name: 'xai',
      provider: 'xai',
      flavour: 'xai',
      models: ['grok-4', 'grok-4-fast-reasoning'],
      more: ['grok-3-mini'],
      errors: [
        status(400, '400 {code, error}', 'UPSTREAM_REJECTED', false, 400),
        status(401, '401 incorrect API key', 'UPSTREAM_AUTH_FAILED', false),
        status(404, '404 model not found', 'UPSTREAM_REJECTED', false, 404),
        status(500, '500 internal', 'UPSTREAM_ERROR', true),
      ],
      unsupported: noEmbeddings,
      fixes: [
        {
          name: 'reasoning_effort, penalties and stop dropped for grok-4 (each a 400 there)',
          extra: { reasoning_effort: 'high', presence_penalty: 0.5, stop: ['zz'] },
          check: (sent) => expectThat(!('reasoning_effort' in sent) && !('presence_penalty' in sent) && !('stop' in sent), 'dropped', sent),
        },
        {
          name: 'reasoning_effort kept for grok-3-mini, which answers reasoning_content',
          model: 'grok-3-mini',
          extra: { reasoning_effort: 'low' },
          check(sent, answer) {
            expectThat(sent.reasoning_effort === 'low', 'reasoning_effort kept', sent);
            expectThat(answer.choices[0].message.reasoning_content === 'thinking: hello', 'reasoning_content', answer);
          },
        },
      ],
    }),
    flavourKit({
      name: 'vllm',
      provider: 'vllm',
      flavour: 'vllm',
      models: ['Qwen/Qwen3-8B', 'meta-llama/Llama-3.1-8B-Instruct'],
      errors: [
        status(400, '400 BadRequestError (integer code)', 'UPSTREAM_REJECTED', false, 400),
        status(404, '404 NotFoundError', 'UPSTREAM_REJECTED', false, 404),
        status(500, '500 InternalServerError', 'UPSTREAM_ERROR', true),
      ],
      // A proxy in front of vLLM (vLLM itself sends no rate-limit headers): a bare 429 with retry-after.
      fixes: [
        {
          name: 'its `reasoning` answered as reasoning_content',
          extra: {},
          check: (_sent, answer) => expectThat(answer.choices[0].message.reasoning_content === 'thinking: hello' && !('reasoning' in answer.choices[0].message), 'reasoning', answer),
        },
      ],
    }),
  ];
}

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
    // Groq's per-day request window, its reset a string like `2m59.56s`.
    checkQuota: quotaIs({ remainingRequests: 0, limitRequests: 14_400 }, { field: 'resetRequestsAt', inMs: 179_560 }),
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
    fixes: [
      {
        name: 'reasoning_effort low → thinking with a 2048-token budget, max_tokens above it, no temperature',
        extra: { reasoning_effort: 'low', temperature: 0.3, max_tokens: 500 },
        check(sent, answer) {
          expectThat(sent.thinking?.type === 'enabled' && sent.thinking.budget_tokens === 2048 && sent.max_tokens === 2548 && !('temperature' in sent), 'thinking as sent', sent);
          expectThat(answer.choices[0].message.reasoning_content === 'thinking about: hello' && answer.choices[0].message.content === 'echo: hello', 'answer', answer);
        },
      },
    ],
  },
  {
    name: 'gemini (native generateContent)',
    models: ['gemini-2.5-flash', 'gemini-solo'],
    env: { GEMINI_TEST_KEY: 'AIza-loopback' },
    async start() {
      const upstream = await startGeminiUpstream({ apiKey: 'AIza-loopback' });
      return {
        upstream: wrapNative(upstream),
        backend: { id: 'native', provider: 'gemini', baseUrl: upstream.url, apiKeyEnv: 'GEMINI_TEST_KEY', models: ['gemini-2.5-flash', 'gemini-solo', 'gemini-3-pro-preview'], timeouts: TIMEOUTS },
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
    fixes: [
      {
        name: 'reasoning_effort medium on 2.5 → thinkingConfig.thinkingBudget 8192 (no level), thoughts as reasoning_content',
        model: 'gemini-2.5-flash',
        extra: { reasoning_effort: 'medium' },
        check(sent, answer) {
          const config = sent.generationConfig?.thinkingConfig;
          expectThat(config?.thinkingBudget === 8192 && config.includeThoughts === true && !('thinkingLevel' in config), 'thinkingConfig', sent.generationConfig);
          expectThat(answer.choices[0].message.reasoning_content === 'thinking about: hello', 'reasoning_content', answer);
        },
      },
      {
        name: 'reasoning_effort low on Gemini 3 → thinkingConfig.thinkingLevel "low" (no budget)',
        model: 'gemini-3-pro-preview',
        extra: { reasoning_effort: 'low' },
        check(sent) {
          const config = sent.generationConfig?.thinkingConfig;
          expectThat(config?.thinkingLevel === 'low' && !('thinkingBudget' in config), 'thinkingConfig', sent.generationConfig);
        },
      },
      {
        name: "Gemini 3: a tool call's thought signature comes back in extra_content and goes out on its functionCall part",
        model: 'gemini-3-pro-preview',
        extra: {
          messages: [
            { role: 'user', content: 'please call_tool now' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"input":"x"}' }, extra_content: { google: { thought_signature: 'c2lnLWtlcHQ' } } }] },
            { role: 'tool', tool_call_id: 'call_1', content: '42' },
          ],
        },
        check(sent) {
          expectThat(sent.contents[1].parts[0].thoughtSignature === 'c2lnLWtlcHQ', 'signature sent back', sent.contents[1]);
        },
      },
    ],
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
    fixes: [
      {
        name: 'reasoning_effort high → think: true, thinking as reasoning_content',
        extra: { reasoning_effort: 'high' },
        check(sent, answer) {
          expectThat(sent.think === true, 'think', sent);
          expectThat(answer.choices[0].message.reasoning_content === 'thinking about: hello', 'reasoning_content', answer);
        },
      },
      {
        name: 'reasoning_effort none → think: false, no reasoning',
        extra: { reasoning_effort: 'none', messages: [{ role: 'user', content: 'think about it' }] },
        check(sent, answer) {
          expectThat(sent.think === false, 'think', sent);
          expectThat(answer.choices[0].message.reasoning_content === undefined, 'no reasoning_content', answer);
        },
      },
    ],
    unsupported: { endpoint: 'chat', extra: { n: 2 }, capability: 'more than one choice (n > 1)' },
  },
  ...flavourKits(),
];
