import { CHARS_PER_TOKEN } from '../keys/tokens.js';

/**
 * Tokens of one answer, for metrics: what the backend reported in `usage` (a complete JSON
 * answer, or a stream's usage chunk when `stream_options.include_usage` was asked), else
 * counted roughly while relaying (one token per content chunk of a stream). Allocated per
 * request only when someone listens to `request.completed`.
 */
export class AnswerUsage {
  /** What the backend reported (`usage.prompt_tokens`), if it did. */
  promptTokens: number | undefined;
  /** What the backend reported (`usage.completion_tokens`), if it did. */
  completionTokens: number | undefined;
  /** The completion estimate when none is reported: content chunks of a stream, or characters / 4 of a JSON answer. */
  estimatedCompletion = 0;
  /** Whether an answer (or part of a stream) was relayed at all. */
  answered = false;

  /** A complete JSON answer. */
  json(value: unknown): void {
    this.answered = true;
    this.#read(value);
    if (this.completionTokens === undefined) this.estimatedCompletion = estimateCompletionTokens(value);
  }

  /** One relayed stream chunk (already parsed). */
  chunk(value: { choices?: { delta?: { content?: unknown; tool_calls?: unknown } }[]; usage?: unknown }): void {
    this.answered = true;
    const delta = value.choices?.[0]?.delta;
    if (delta && ((typeof delta.content === 'string' && delta.content !== '') || delta.tool_calls !== undefined)) this.estimatedCompletion++;
    if (value.usage) this.#read(value);
  }

  #read(value: unknown): void {
    const usage = (value as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null } | null)?.usage;
    if (!usage) return;
    if (typeof usage.prompt_tokens === 'number') this.promptTokens = usage.prompt_tokens;
    if (typeof usage.completion_tokens === 'number') this.completionTokens = usage.completion_tokens;
  }
}

/**
 * Estimated completion tokens of a complete answer without `usage`: characters / 4 of the
 * choices' text and tool-call arguments (the same rule as the prompt estimate).
 */
export function estimateCompletionTokens(value: unknown): number {
  const choices = (value as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return 0;
  let chars = 0;
  for (const choice of choices) {
    const message = (choice as { message?: { content?: unknown; tool_calls?: unknown } } | null)?.message;
    if (!message) continue;
    if (typeof message.content === 'string') chars += message.content.length;
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
        if (typeof fn?.name === 'string') chars += fn.name.length;
        if (typeof fn?.arguments === 'string') chars += fn.arguments.length;
      }
    }
  }
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** Prompt and completion tokens of a stored answer (a cache hit, a joined flight): its usage, else estimated. */
export function answerTokens(answer: { value: unknown; tokens?: [number | undefined, number] | undefined }, promptEstimate: () => number): { tokensIn: number; tokensOut: number } {
  const [prompt, completion] = answer.tokens ?? reportedTokens(answer.value);
  return { tokensIn: prompt ?? promptEstimate(), tokensOut: completion };
}

/**
 * What an answer says of its own tokens: the prompt tokens its `usage` reports (undefined when it
 * has none: the caller estimates from its request) and the completion tokens, reported or
 * estimated. Kept with a cached answer so a hit needs no parse of the body to be counted.
 */
export function reportedTokens(value: unknown): [prompt: number | undefined, completion: number] {
  const usage = (value as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null } | null)?.usage;
  const prompt = typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined;
  const completion = typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : estimateCompletionTokens(value);
  return [prompt, completion];
}
