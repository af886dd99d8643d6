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
