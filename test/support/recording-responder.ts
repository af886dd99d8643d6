import type { JsonAnswer, Responder } from '../../src/gateway/types.js';

/** One JSON answer a {@link RecordingResponder} was given. */
export interface RecordedAnswer {
  status: number;
  body: string;
  /** The answer's parsed value, read only when called (a cache hit's `value` parses on first read). */
  value: () => unknown;
}

/** A client's end of the request path that records its JSON answers (a door's responder, minus the socket). */
export type RecordingResponder = Responder & { answers: RecordedAnswer[] };

export function recordingResponder(): RecordingResponder {
  const answers: RecordedAnswer[] = [];
  return {
    answers,
    closed: false,
    json(status: number, answer: JsonAnswer) {
      answers.push({ status, body: answer.body.toString('utf8'), value: () => answer.value });
    },
    streamStart: () => undefined,
    streamChunk: () => true,
    waitDrain: () => Promise.resolve(),
    streamEnd: () => undefined,
    error: () => undefined,
  };
}
