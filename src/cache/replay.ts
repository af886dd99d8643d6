import type { Responder, ResponseMeta } from '../gateway/types.js';
import type { CompletedAnswer } from './answer.js';
import { isUsageChunk, synthesizeChunks } from './stream-assembly.js';

/**
 * Answers a request from a completed answer (a cache hit, a recent duplicate, or a
 * finished flight), in the form the request asked for: as a stream when it streams
 * (its own chunks, or chunks synthesised from a complete answer), else as JSON.
 * The usage chunk is sent only to a request that asked for it.
 */
export function replayAnswer(answer: CompletedAnswer, res: Responder, meta: ResponseMeta, stream: boolean, includeUsage: boolean): void {
  if (!stream) {
    res.json(answer.status, answer, meta);
    return;
  }
  res.streamStart(meta);
  if (answer.chunks) {
    for (const data of answer.chunks) {
      const value: unknown = JSON.parse(data);
      if (!includeUsage && isUsageChunk(value)) continue;
      res.streamChunk(data, value);
    }
  } else {
    for (const chunk of synthesizeChunks(answer.value as Record<string, unknown>, includeUsage)) res.streamChunk(JSON.stringify(chunk), chunk);
  }
  res.streamEnd();
}
