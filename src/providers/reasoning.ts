/**
 * OpenAI's `reasoning_effort` (`none` | `minimal` | `low` | `medium` | `high`) in each native
 * provider's terms. Pure functions of the effort and the model id, used by the request
 * translators; a model that has no thinking control gets nothing (sending one would be a 400).
 * - Anthropic: `thinking: {type: "enabled", budget_tokens}` (budgets below), with `max_tokens`
 *   kept above the budget; `none` sends no `thinking`.
 * - Gemini 2.5: `generationConfig.thinkingConfig.thinkingBudget` (0 = off where the model allows
 *   it); Gemini 3: `thinkingLevel` — never both (a 400).
 * - Ollama native: `think: false | true` (gpt-oss takes the level itself: `"low" | "medium" | "high"`).
 * The OpenAI-compatible family passes `reasoning_effort` through, except where the provider
 * rejects it (xAI grok-3 / grok-4: src/providers/quirks.ts).
 */
import type { Json } from './adapter.js';

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high';

/** The request's `reasoning_effort`, read tolerantly (`xhigh` / `max` count as `high`); undefined when absent or unknown. */
export function reasoningEffort(body: Json): ReasoningEffort | undefined {
  const value = body.reasoning_effort;
  switch (value) {
    case 'none':
    case 'minimal':
    case 'low':
    case 'medium':
    case 'high':
      return value;
    case 'xhigh':
    case 'max':
      return 'high';
    default:
      return undefined;
  }
}

// ── Anthropic ────────────────────────────────────────────────────────────────────────────────────

/** Thinking budgets per effort (Anthropic's minimum budget is 1024). */
export const ANTHROPIC_THINKING_BUDGETS: Readonly<Record<Exclude<ReasoningEffort, 'none'>, number>> = Object.freeze({
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24_576,
});

/** Claude models with extended thinking: 3.7 and every later generation (not 3.5, 3, 2, instant). */
export function anthropicThinks(model: string): boolean {
  return !/^claude-(?:3-(?!7)|3\.5|2|instant)/.test(model);
}

/**
 * The `thinking` block and `max_tokens` for an effort. `max_tokens` counts thinking too (as
 * OpenAI's `max_completion_tokens` counts reasoning): a client maximum above the budget is kept;
 * one at or below it gets the budget added (the visible answer keeps the room the client gave
 * it); none gets the budget plus `defaultMax`.
 */
export function anthropicThinking(effort: ReasoningEffort, clientMax: number | undefined, defaultMax: number): { thinking: Json; maxTokens: number } | undefined {
  if (effort === 'none') return undefined;
  const budget = ANTHROPIC_THINKING_BUDGETS[effort];
  const maxTokens = clientMax === undefined ? budget + defaultMax : clientMax > budget ? clientMax : budget + clientMax;
  return { thinking: { type: 'enabled', budget_tokens: budget }, maxTokens };
}

// ── Gemini ───────────────────────────────────────────────────────────────────────────────────────

/** Gemini 2.5 budgets per effort (the OpenAI-compatible endpoint's 1K / 8K / 24K for low / medium / high). */
export const GEMINI_THINKING_BUDGETS: Readonly<Record<Exclude<ReasoningEffort, 'none'>, number>> = Object.freeze({
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24_576,
});

/**
 * `generationConfig.thinkingConfig` for an effort, or undefined for a model without thinking.
 * Gemini 3 Pro knows only `low` / `high` levels and cannot stop thinking; Gemini 3 Flash also
 * `minimal` / `medium`. Gemini 2.5 Pro cannot turn thinking off (its smallest budget, 128, is sent
 * for `none`). Thoughts are asked back (`includeThoughts`) so they arrive as `reasoning_content`.
 */
export function geminiThinkingConfig(effort: ReasoningEffort, model: string): Json | undefined {
  const id = model.startsWith('models/') ? model.slice(7) : model;
  if (/^gemini-3/.test(id)) {
    const pro = id.includes('-pro');
    const level = pro
      ? effort === 'medium' || effort === 'high'
        ? 'high'
        : 'low'
      : effort === 'none' || effort === 'minimal'
        ? 'minimal'
        : effort;
    return { thinkingLevel: level, includeThoughts: effort !== 'none' };
  }
  if (/^gemini-2\.5/.test(id)) {
    if (effort === 'none') return { thinkingBudget: id.includes('-pro') ? 128 : 0, includeThoughts: false };
    return { thinkingBudget: GEMINI_THINKING_BUDGETS[effort], includeThoughts: true };
  }
  return undefined;
}

/** Gemini 3 function calls carry a thought signature that must come back with them. */
export function geminiNeedsThoughtSignatures(model: string): boolean {
  return /^(?:models\/)?gemini-3/.test(model);
}

/**
 * What Gemini accepts in place of a signature it never issued or that the client lost (a history
 * from another model, a client that dropped `extra_content`): validation is skipped for that call.
 */
export const GEMINI_SKIP_SIGNATURE = 'skip_thought_signature_validator';

// ── Ollama ───────────────────────────────────────────────────────────────────────────────────────

/** `think` for Ollama's `/api/chat`: off for `none`, the level for gpt-oss (which takes no boolean), else on. */
export function ollamaThink(effort: ReasoningEffort, model: string): boolean | 'low' | 'medium' | 'high' {
  if (effort === 'none') return false;
  if (/^gpt-oss/.test(model)) return effort === 'minimal' ? 'low' : effort;
  return true;
}
