import type { Cancellation } from './cancel-signal.js';
import type { OptimizerError } from '../errors/registry.js';

/** The endpoints the gateway serves. */
export type Endpoint = 'chat.completions' | 'embeddings';

/** Hints a client may attach (HTTP headers, or the WS request's `hints`). */
export interface RequestHints {
  /** `x-backend`: use this backend. */
  backend?: string;
  /** `x-task-type`: reasoning | code | general | long | embeddings. */
  taskType?: string;
  /** `x-priority`: larger goes first when queued. */
  priority?: number;
  /** `Cache-Control` directives. */
  cacheControl?: string;
}

/** One request on its way through the optimizer, whichever door it came in by. */
export interface GatewayRequest {
  /** Unique per request; sent back as `x-request-id`. */
  requestId: string;
  agentId: string;
  agentType: string | undefined;
  /** Cache and dedupe scope. */
  tenant: string;
  endpoint: Endpoint;
  /** The validated request body (OpenAI format). */
  body: Record<string, unknown>;
  /** The body's JSON text as received, when large enough to be keyed in the worker pool. */
  bodyText?: string | undefined;
  bodyBytes?: number | undefined;
  stream: boolean;
  hints: RequestHints;
  /** Aborted when the client cancels or disconnects (a CancelSignal from the doors; an AbortSignal will do). */
  signal: Cancellation;
  /** Set when an operator replays a dead letter: a failure then does not dead-letter it again. */
  replayOf?: string;
}

/** A complete JSON answer: its bytes, and the same parsed (possibly parsed only when read). */
export interface JsonAnswer {
  readonly body: Buffer;
  readonly value: unknown;
}

/** What the answer says about how it was produced (HTTP headers, WS response metadata). */
export interface ResponseMeta {
  requestId: string;
  backend: string;
  model: string;
  routeReason: string;
  cache: 'hit' | 'miss' | 'bypass';
  dedupe?: 'leader' | 'joined';
}

/**
 * Where the gateway writes an answer. The HTTP front door writes JSON or SSE; a
 * WebSocket session writes `response`, `chunk`, `done` and `error` frames.
 */
export interface Responder {
  /**
   * A complete answer: `answer.body` is the JSON text, `answer.value` the same parsed. `value`
   * may be a getter that parses on first read (a cache hit): read it only if the bytes won't do.
   */
  json(status: number, answer: JsonAnswer, meta: ResponseMeta): void;
  /** A stream starts: headers (HTTP) or nothing yet (WS). */
  streamStart(meta: ResponseMeta): void;
  /** One chunk: its JSON text and the same parsed. False when the client's buffer is full: wait for `waitDrain`. */
  streamChunk(data: string, value: unknown): boolean;
  /** Resolves when the client can take more. */
  waitDrain(): Promise<void>;
  /** The stream ended cleanly. */
  streamEnd(): void;
  /** A failure. Before a stream started it is the answer; after, it is an explicit in-stream error. */
  error(error: OptimizerError): void;
  /** Whether the client is gone (nothing more can be written). */
  readonly closed: boolean;
}
