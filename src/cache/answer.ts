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
 * A class, not an object literal with a getter: every answered request makes one, and this way
 * without a closure and an accessor of its own (bench:ab on cache hits: 0.89× and 1.03× the CPU per
 * request in two runs, so within noise; less allocated per answer).
 */
export class StoredAnswer implements CompletedAnswer {
  #value: unknown;
  #parsed = false;

  constructor(
    readonly status: number,
    readonly body: Buffer,
    readonly chunks: string[] | undefined,
    readonly backend: string,
    readonly model: string,
    readonly tokens: CompletedAnswer['tokens'],
  ) {}

  get value(): unknown {
    if (!this.#parsed) {
      this.#value = JSON.parse(this.body.toString('utf8'));
      this.#parsed = true;
    }
    return this.#value;
  }
}

