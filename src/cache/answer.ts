/**
 * A complete answer, in the form the cache, the dedupe window and late joiners replay:
 * the non-streamed JSON body, and the stream's chunks when it was streamed.
 */
export interface CompletedAnswer {
  status: number;
  /** The complete JSON answer (for a streamed answer: assembled from its chunks). */
  body: Buffer;
  value: unknown;
  /** The chunks' JSON texts, when the answer was streamed. */
  chunks: string[] | undefined;
  backend: string;
  model: string;
  /** Prompt tokens its usage reported (undefined: estimate from the request) and completion tokens, when known without parsing `value`. */
  tokens?: [number | undefined, number] | undefined;
}

/**
 * A completed answer around its stored parts. Its `value` is parsed from `body` only if a reader asks
 * (a msgpack WebSocket frame, a synthesised stream): an HTTP replay sends the bytes as they are.
 */
export function storedAnswer(
  status: number,
  body: Buffer,
  chunks: string[] | undefined,
  backend: string,
  model: string,
  tokens: CompletedAnswer['tokens'],
): CompletedAnswer {
  let value: unknown;
  return {
    status,
    body,
    get value() {
      return (value ??= JSON.parse(body.toString('utf8')));
    },
    chunks,
    tokens,
    backend,
    model,
  };
}
