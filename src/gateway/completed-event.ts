import type { CompletedAnswer } from '../cache/answer.js';
import { estimateTokens } from '../keys/tokens.js';
import type { GatewayRequest, ResponseMeta } from './types.js';
import { answerTokens, type AnswerUsage } from './usage.js';

/** How a request ended, as the gateway saw it. */
export interface Completion {
  /** `ok`, `cache.hit`, `dedupe.joined`, or the error code the client got. */
  outcome: string;
  /** The HTTP status of the answer (200, or the error's). */
  status: number;
  /** Since the request entered the gateway until its answer was complete. */
  latencyMs: number;
  /** Tokens of the upstream answer this request got as the one who called (undefined for hits and joins). */
  usage: AnswerUsage | undefined;
  /** The answer a cache hit or a dedupe join was served instead of calling upstream. */
  savedAnswer: Pick<CompletedAnswer, 'value' | 'tokens'> | undefined;
  /** The prompt estimate, when the worker pool already made one. */
  promptTokens: number | undefined;
}

/**
 * The fields of `request.completed` (built only when someone listens): who, what, where it
 * went, how it was answered, how long it took and the tokens it spent or saved.
 */
export function completedEventFields(req: GatewayRequest, meta: ResponseMeta | undefined, completion: Completion): Record<string, unknown> {
  const { usage, savedAnswer } = completion;
  const prompt = () => completion.promptTokens ?? estimateTokens(req.body);
  const fields: Record<string, unknown> = {
    requestId: req.requestId,
    agentId: req.agentId,
    endpoint: req.endpoint,
    stream: req.stream,
    backend: meta?.backend,
    model: meta?.model,
    cache: meta?.cache,
    dedupe: meta?.dedupe,
    outcome: completion.outcome,
    status: completion.status,
    latencyMs: Math.round(completion.latencyMs * 1000) / 1000,
    tokensIn: 0,
    tokensOut: 0,
  };
  if (usage?.answered) {
    fields.tokensIn = usage.promptTokens ?? prompt();
    fields.tokensOut = usage.completionTokens ?? usage.estimatedCompletion;
    fields.tokensEstimated = usage.promptTokens === undefined || usage.completionTokens === undefined;
  } else if (savedAnswer !== undefined) {
    const saved = answerTokens(savedAnswer, prompt);
    fields.tokensSavedIn = saved.tokensIn;
    fields.tokensSavedOut = saved.tokensOut;
  }
  if (req.replayOf !== undefined) fields.replayOf = req.replayOf;
  return fields;
}
