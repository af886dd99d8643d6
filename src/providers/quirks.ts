/**
 * Provider quirks of the OpenAI-compatible family, in one table (facts from providers.md §3):
 * what each provider rejects or names differently, fixed on the way out (request) and on the way
 * back (answer, stream chunks). A provider with no quirk that applies to a request keeps the
 * zero-copy pass-through: `needsRequestQuirks` decides with a few property reads, and the
 * answer fixers only re-serialise what they changed.
 */
import type { ProviderName } from '../config/types.js';
import type { Json } from './adapter.js';
import { isObject } from './json.js';

export interface ProviderQuirks {
  /** Serves `/embeddings`. */
  readonly embeddings: boolean;
  /** Top-level request fields the provider rejects with a 400: dropped. */
  readonly dropFields?: readonly string[];
  /**
   * Top-level fields the provider rejects for some models only (xAI: `reasoning_effort` on grok-3 /
   * grok-4, penalties and `stop` on its reasoning models): dropped for those models.
   */
  readonly dropFieldsFor?: (model: string) => readonly string[] | undefined;
  /** The only `tool_choice` values accepted; any other is sent as `auto` (the tools stay offered). */
  readonly toolChoice?: readonly string[];
  /** `messages[].name` is rejected: dropped. */
  readonly dropMessageName?: boolean;
  /** Only one choice: `n` > 1 is a capability this backend lacks (fail over); `n: 1` is dropped. */
  readonly singleChoice?: boolean;
  /**
   * Which max-tokens field the provider takes: `max_tokens` (a `max_completion_tokens` is renamed),
   * or `reasoning-models` (OpenAI: o-series and gpt-5 models take only `max_completion_tokens`).
   */
  readonly maxTokens?: 'max_tokens' | 'reasoning-models';
  /**
   * Assistant `reasoning_content` sent back in `messages`: `strip` everywhere (Mistral: 422), or
   * keep it only on turns that made tool calls (DeepSeek: required there, a 400 on R1 elsewhere).
   */
  readonly assistantReasoning?: 'strip' | 'tool-turns-only';
  /** Tool-call ids must match `[a-zA-Z0-9]{9}` (Mistral): foreign ids are rewritten consistently. */
  readonly toolCallIds?: 'alnum9';
  /**
   * Unknown fields on a tool call are refused (Mistral: 422 `extra_forbidden`): `extra_content`
   * (Gemini 3's thought signature, src/providers/gemini/) is dropped from assistant tool calls, so a
   * conversation started on Gemini can fail over or move here.
   */
  readonly strictToolCalls?: boolean;
  /** The answer names the reasoning `reasoning` (Groq, OpenRouter, Ollama, vLLM): renamed `reasoning_content`. */
  readonly reasoningField?: 'reasoning';
  /**
   * Groq puts a stream's usage in its final chunk's `x_groq.usage`: when the client asked for
   * `include_usage` and no usage chunk came, one is made from it before `[DONE]`.
   */
  readonly groqUsage?: boolean;
  /**
   * The provider sends a stream's usage chunk whether the client asked `include_usage` or not
   * (OpenRouter): it is dropped when the client did not ask (clients index `choices[0]`).
   */
  readonly usageAlways?: boolean;
}

type CompatibleProvider = Exclude<ProviderName, 'anthropic' | 'gemini' | 'ollama-native'>;

/** Every OpenAI-compatible provider's quirks. */
export const PROVIDER_QUIRKS: Readonly<Record<CompatibleProvider, ProviderQuirks>> = Object.freeze({
  openai: { embeddings: true, maxTokens: 'reasoning-models' },
  cerebras: {
    embeddings: false,
    dropFields: ['frequency_penalty', 'presence_penalty', 'logit_bias', 'parallel_tool_calls', 'service_tier'],
    toolChoice: ['auto', 'none'],
  },
  groq: {
    embeddings: false,
    dropFields: ['logprobs', 'logit_bias', 'top_logprobs'],
    dropMessageName: true,
    singleChoice: true,
    reasoningField: 'reasoning',
    groqUsage: true,
  },
  together: { embeddings: true },
  xai: { embeddings: false, dropFieldsFor: xaiRejectedFields }, // no embeddings endpoint (unverified)
  deepseek: { embeddings: false, maxTokens: 'max_tokens', assistantReasoning: 'tool-turns-only' },
  // Kimi keeps reasoning_content on assistant turns in the history: nothing stripped.
  moonshot: { embeddings: false, maxTokens: 'max_tokens' },
  openrouter: { embeddings: true, reasoningField: 'reasoning', usageAlways: true },
  mistral: {
    embeddings: true,
    singleChoice: true,
    dropMessageName: true,
    maxTokens: 'max_tokens',
    assistantReasoning: 'strip',
    toolCallIds: 'alnum9',
    strictToolCalls: true,
  },
  fireworks: { embeddings: true },
  vllm: { embeddings: true, reasoningField: 'reasoning' },
  ollama: { embeddings: true, reasoningField: 'reasoning' },
  lmstudio: { embeddings: true, maxTokens: 'max_tokens' },
  'openai-compatible': { embeddings: true },
} satisfies Record<CompatibleProvider, ProviderQuirks>);

const XAI_REASONING_REJECTS = ['presence_penalty', 'frequency_penalty', 'stop'] as const;
const XAI_EFFORT = ['reasoning_effort'] as const;
const XAI_BOTH = [...XAI_REASONING_REJECTS, ...XAI_EFFORT] as const;

/**
 * What xAI rejects for a model (providers.md §3): `reasoning_effort` on grok-3 and the grok-4
 * family up to grok-4.2x (grok-3-mini and grok-4.3+ take it); `presence_penalty`,
 * `frequency_penalty` and `stop` on its reasoning models (grok-3-mini, grok-4 but `-non-reasoning`).
 */
export function xaiRejectedFields(model: string): readonly string[] | undefined {
  const reasoning = (model.startsWith('grok-3-mini') || model.startsWith('grok-4')) && !model.includes('non-reasoning');
  const effort = !model.startsWith('grok-3-mini') && (/^grok-3(?:$|-)/.test(model) || /^grok-4(?:$|-|\.[0-2]\d*(?:$|-))/.test(model));
  return reasoning ? (effort ? XAI_BOTH : XAI_REASONING_REJECTS) : effort ? XAI_EFFORT : undefined;
}

/** OpenAI models that take `max_completion_tokens` only (o1, o3, o4-mini, gpt-5…). */
export function isOpenAIReasoningModel(model: string): boolean {
  return /^(?:o\d|gpt-5)/.test(model);
}

const ALNUM9 = /^[a-zA-Z0-9]{9}$/;

/** Whether any request-side quirk applies to this body (cheap: reads, no allocation). */
export function needsRequestQuirks(body: Json, model: string, q: ProviderQuirks): boolean {
  if (q.dropFields) for (const field of q.dropFields) if (body[field] !== undefined) return true;
  if (q.dropFieldsFor) {
    const fields = q.dropFieldsFor(model);
    if (fields) for (const field of fields) if (body[field] !== undefined) return true;
  }
  if (q.toolChoice && body.tool_choice !== undefined && !(typeof body.tool_choice === 'string' && q.toolChoice.includes(body.tool_choice))) return true;
  if (q.singleChoice && body.n !== undefined) return true;
  if (q.maxTokens === 'max_tokens' && body.max_completion_tokens !== undefined) return true;
  if (q.maxTokens === 'reasoning-models' && body.max_tokens !== undefined && isOpenAIReasoningModel(model)) return true;
  if ((q.dropMessageName || q.assistantReasoning || q.toolCallIds || q.strictToolCalls) && Array.isArray(body.messages)) {
    for (const message of body.messages) if (isObject(message) && messageNeedsQuirks(message, q)) return true;
  }
  return false;
}

function messageNeedsQuirks(message: Json, q: ProviderQuirks): boolean {
  if (q.dropMessageName && message.name !== undefined) return true;
  if (q.assistantReasoning && message.role === 'assistant' && message.reasoning_content !== undefined) {
    if (q.assistantReasoning === 'strip' || !hasToolCalls(message)) return true;
  }
  if (q.strictToolCalls && Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) if (isObject(call) && call.extra_content !== undefined) return true;
  }
  if (q.toolCallIds) {
    if (typeof message.tool_call_id === 'string' && !ALNUM9.test(message.tool_call_id)) return true;
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) if (isObject(call) && typeof call.id === 'string' && !ALNUM9.test(call.id)) return true;
    }
  }
  return false;
}

function hasToolCalls(message: Json): boolean {
  return Array.isArray(message.tool_calls) && message.tool_calls.length > 0;
}

/**
 * The body to send: the client's, with the provider's model id and its quirks applied. Never
 * mutates `body`; fields are dropped by setting them undefined (JSON.stringify leaves them out).
 */
export function applyRequestQuirks(body: Json, model: string, q: ProviderQuirks): Json {
  const out: Json = { ...body, model };
  if (q.dropFields) for (const field of q.dropFields) if (out[field] !== undefined) out[field] = undefined;
  if (q.dropFieldsFor) for (const field of q.dropFieldsFor(model) ?? []) if (out[field] !== undefined) out[field] = undefined;
  if (q.toolChoice && out.tool_choice !== undefined && !(typeof out.tool_choice === 'string' && q.toolChoice.includes(out.tool_choice))) {
    out.tool_choice = 'auto';
  }
  if (q.singleChoice) out.n = undefined; // n > 1 never gets here (unsupported() fails over first)
  if (q.maxTokens === 'max_tokens' && out.max_completion_tokens !== undefined) {
    out.max_tokens = out.max_tokens ?? out.max_completion_tokens;
    out.max_completion_tokens = undefined;
  }
  if (q.maxTokens === 'reasoning-models' && out.max_tokens !== undefined && isOpenAIReasoningModel(model)) {
    out.max_completion_tokens = out.max_completion_tokens ?? out.max_tokens;
    out.max_tokens = undefined;
  }
  if ((q.dropMessageName || q.assistantReasoning || q.toolCallIds || q.strictToolCalls) && Array.isArray(body.messages)) {
    const ids = q.toolCallIds ? toolCallIdMap(body.messages) : undefined;
    out.messages = body.messages.map((message: unknown) => (isObject(message) && messageNeedsQuirks(message, q) ? fixMessage(message, q, ids) : message));
  }
  return out;
}

function fixMessage(message: Json, q: ProviderQuirks, ids: Map<string, string> | undefined): Json {
  const out: Json = { ...message };
  if (q.dropMessageName) out.name = undefined;
  if (q.assistantReasoning && out.role === 'assistant' && (q.assistantReasoning === 'strip' || !hasToolCalls(out))) out.reasoning_content = undefined;
  if (q.strictToolCalls && Array.isArray(out.tool_calls)) {
    out.tool_calls = out.tool_calls.map((call: unknown) => (isObject(call) && call.extra_content !== undefined ? { ...call, extra_content: undefined } : call));
  }
  if (ids) {
    if (typeof out.tool_call_id === 'string') out.tool_call_id = ids.get(out.tool_call_id) ?? out.tool_call_id;
    if (Array.isArray(out.tool_calls)) {
      out.tool_calls = out.tool_calls.map((call: unknown) =>
        isObject(call) && typeof call.id === 'string' && ids.has(call.id) ? { ...call, id: ids.get(call.id) } : call,
      );
    }
  }
  return out;
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Foreign tool-call id → a `[a-zA-Z0-9]{9}` id, the same for an assistant's call and the tool
 * message answering it. Derived from the id's hash, so the same conversation sent again gets the
 * same ids (the provider's prompt cache and ours see the same text); ids that already fit are kept.
 */
export function toolCallIdMap(messages: readonly unknown[]): Map<string, string> {
  const map = new Map<string, string>();
  const used = new Set<string>();
  const foreign: string[] = [];
  const note = (id: unknown) => {
    if (typeof id !== 'string') return;
    if (ALNUM9.test(id)) used.add(id);
    else if (!foreign.includes(id)) foreign.push(id);
  };
  for (const message of messages) {
    if (!isObject(message)) continue;
    note(message.tool_call_id);
    if (Array.isArray(message.tool_calls)) for (const call of message.tool_calls) if (isObject(call)) note(call.id);
  }
  for (const id of foreign) {
    let salt = 0;
    let candidate = alnum9(id, salt);
    while (used.has(candidate)) candidate = alnum9(id, ++salt);
    used.add(candidate);
    map.set(id, candidate);
  }
  return map;
}

function alnum9(text: string, salt: number): string {
  // Two FNV-1a lanes give 64 bits, enough for 9 base-62 digits (≈ 53.6 bits).
  let a = (0x811c9dc5 ^ salt) >>> 0;
  let b = (0x01000193 + salt * 0x9e3779b1) >>> 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  let out = '';
  for (let i = 0; i < 9; i++) {
    const digit = (a % 62) ^ 0;
    out += BASE62[digit];
    a = ((a - digit) / 62 + (b % 62) * 0x4000000) >>> 0;
    b = Math.floor(b / 62);
  }
  return out;
}

// ── the way back ─────────────────────────────────────────────────────────────────────────────────

/** Fixes a complete answer in place; true when it changed (it must then be re-serialised). */
export function fixAnswer(value: Json, q: ProviderQuirks): boolean {
  let changed = false;
  if (q.reasoningField && Array.isArray(value.choices)) {
    for (const choice of value.choices) if (isObject(choice) && isObject(choice.message) && renameReasoning(choice.message)) changed = true;
  }
  return changed;
}

/** Fixes one stream chunk in place; true when it changed. */
export function fixChunk(chunk: Json, q: ProviderQuirks): boolean {
  let changed = false;
  if (q.reasoningField && Array.isArray(chunk.choices)) {
    for (const choice of chunk.choices) if (isObject(choice) && isObject(choice.delta) && renameReasoning(choice.delta)) changed = true;
  }
  return changed;
}

function renameReasoning(message: Json): boolean {
  if (message.reasoning === undefined) return false;
  if (message.reasoning_content === undefined && typeof message.reasoning === 'string') message.reasoning_content = message.reasoning;
  delete message.reasoning;
  return true;
}

/** Whether the answer side has anything to fix for this provider. */
export function fixesAnswers(q: ProviderQuirks): boolean {
  return q.reasoningField !== undefined || q.groqUsage === true || q.usageAlways === true;
}
