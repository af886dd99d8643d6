/** Gemini `GenerateContentResponse` → OpenAI `chat.completion` (and the pieces the stream reuses). */
import type { Json } from '../adapter.js';
import { isObject } from '../json.js';

/** Gemini `finishReason` (upper case) → OpenAI `finish_reason`. */
export function finishReason(reason: unknown, madeToolCalls: boolean): string {
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content_filter';
    default:
      return madeToolCalls ? 'tool_calls' : 'stop'; // STOP, FINISH_REASON_UNSPECIFIED, OTHER, MALFORMED_FUNCTION_CALL…
  }
}

/** `usageMetadata` → OpenAI usage; thoughts count as completion (reasoning) tokens. */
export function openAIUsage(metadata: unknown): Json {
  const m = isObject(metadata) ? metadata : {};
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const prompt = num(m.promptTokenCount);
  const thoughts = num(m.thoughtsTokenCount);
  const completion = num(m.candidatesTokenCount) + thoughts;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: typeof m.totalTokenCount === 'number' ? m.totalTokenCount : prompt + completion,
    prompt_tokens_details: { cached_tokens: num(m.cachedContentTokenCount) },
    completion_tokens_details: { reasoning_tokens: thoughts },
  };
}

/**
 * What one candidate's parts hold, split the OpenAI way. Parts holding only a `thoughtSignature`
 * carry nothing; a `functionCall` part's signature stays with its call.
 */
export interface CandidateParts {
  text: string;
  reasoning: string;
  calls: { name: unknown; args: unknown; id: unknown; signature: string | undefined }[];
}

export function candidateParts(candidate: Json): CandidateParts {
  const out: CandidateParts = { text: '', reasoning: '', calls: [] };
  const parts = isObject(candidate.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts : [];
  for (const part of parts) {
    if (!isObject(part)) continue;
    if (typeof part.text === 'string') {
      if (part.thought === true) out.reasoning += part.text;
      else out.text += part.text;
    } else if (isObject(part.functionCall)) {
      out.calls.push({ name: part.functionCall.name, args: part.functionCall.args ?? {}, id: part.functionCall.id, signature: typeof part.thoughtSignature === 'string' ? part.thoughtSignature : undefined });
    }
  }
  return out;
}

/**
 * A function call as an OpenAI tool call. Its thought signature (Gemini 3 requires it back on the
 * call in later turns) rides in `extra_content.google.thought_signature` — Gemini's own
 * OpenAI-compatible endpoint's convention, which OpenAI clients keep when they send the
 * assistant message back as they got it. Not in the id: OpenAI caps tool-call ids at 40
 * characters and Mistral rewrites them, so a conversation failed over to them would break.
 */
export function openAIToolCall(call: CandidateParts['calls'][number], responseId: string, index: number): Json {
  const out: Json = { id: toolCallId(call.id, responseId, index), type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args) } };
  if (call.signature !== undefined) out.extra_content = { google: { thought_signature: call.signature } };
  return out;
}

/** A tool call id: Gemini's own when it gives one, else one made from the response id and the call's place. */
export function toolCallId(given: unknown, responseId: string, index: number): string {
  return typeof given === 'string' && given !== '' ? given : `call_${responseId}_${index}`;
}

export function responseIdOf(value: Json, now: number): string {
  return typeof value.responseId === 'string' ? value.responseId : `gemini${now.toString(36)}`;
}

export function openAICompletion(value: Json, requestModel: string, now: number): Json {
  const responseId = responseIdOf(value, now);
  const candidates = Array.isArray(value.candidates) ? value.candidates.filter(isObject) : [];
  const choices = candidates.map((candidate, i) => {
    const { text, reasoning, calls } = candidateParts(candidate);
    const message: Json = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
    if (reasoning !== '') message.reasoning_content = reasoning;
    if (calls.length > 0) {
      message.tool_calls = calls.map((call, k) => openAIToolCall(call, responseId, k));
    }
    return { index: typeof candidate.index === 'number' ? candidate.index : i, message, logprobs: null, finish_reason: finishReason(candidate.finishReason, calls.length > 0) };
  });
  if (choices.length === 0) {
    // The prompt itself was blocked (promptFeedback.blockReason): no candidate at all.
    choices.push({ index: 0, message: { role: 'assistant', content: '' }, logprobs: null, finish_reason: 'content_filter' });
  }
  return {
    id: responseId,
    object: 'chat.completion',
    created: Math.floor(now / 1000),
    model: typeof value.modelVersion === 'string' ? value.modelVersion : requestModel,
    choices,
    usage: openAIUsage(value.usageMetadata),
  };
}
