/**
 * The provider adapter seam. The optimizer speaks OpenAI's format to its clients; an adapter
 * turns one such request (with `model` already the provider's id) into the provider's own call,
 * and its answer, stream and errors back into OpenAI's format. One adapter object per backend is
 * built at start (`adapterFor`) and reused for every request: per request it only decides,
 * cheaply, whether anything needs changing.
 *
 * The OpenAI-compatible family (src/providers/openai-compatible.ts) keeps the zero-copy pass-through
 * when its provider's quirks do not apply to the request; native adapters (anthropic/, gemini/,
 * ollama/) translate both ways.
 */
import type { BackendConfig, ProviderName } from '../config/types.js';
import type { OptimizerError } from '../errors/registry.js';
import type { Endpoint } from '../gateway/types.js';
import type { ModelList, ModelListCall } from './model-list.js';
import type { SseEvent } from './sse.js';

export type Json = Record<string, unknown>;

/** What an adapter can do; a request needing more fails over before any upstream call. */
export interface Capabilities {
  readonly chat: boolean;
  readonly embeddings: boolean;
}

/** One OpenAI-format request, as the gateway hands it to an adapter. */
export interface AdapterRequest {
  endpoint: Endpoint;
  /** The client's validated body (never mutated by an adapter). */
  body: Json;
  /** The provider's model id (the backend's name for it). */
  model: string;
  stream: boolean;
}

/** The upstream call an adapter asks for (below the backend's base URL). */
export interface PreparedCall {
  method: 'POST';
  path: string;
  /** JSON text in the provider's format. (Auth headers are the transport's, from the provider preset.) */
  body: string;
}

/** What translating an answer needs besides the answer itself. */
export interface AnswerContext {
  /** The request as the client sent it (OpenAI format). */
  request: AdapterRequest;
  backendId: string;
  /** Wall clock, epoch ms (`created` fields). */
  now: number;
}

/** Where a stream translator writes OpenAI `chat.completion.chunk`s. */
export type ChunkSink = (data: string, value: unknown) => void;

/**
 * Translates one upstream stream into OpenAI chunks, frame by frame. Throwing an OptimizerError
 * from `frame` fails the stream (an in-stream upstream error); the relay sends it as the answer
 * when no chunk has reached the client yet (so delivery may fail over), else as an explicit
 * in-stream error event.
 */
export interface StreamTranslator {
  /** One SSE event (or one NDJSON line as `data`). Returns true when the stream is complete. */
  frame(event: SseEvent, emit: ChunkSink): boolean;
  /** The upstream body ended before `frame` said complete: true for a clean end (final chunks may be emitted). */
  end(emit: ChunkSink): boolean;
}

/** How an upstream stream is framed on the wire. */
export type StreamFraming = 'sse' | 'ndjson';

/** One provider's wire format. Stateless: the same object serves every request of its backend. */
export interface ProviderAdapter {
  /** The adapter family (`openai-compatible` for every OpenAI-compatible provider). */
  readonly kind: 'openai-compatible' | 'anthropic' | 'gemini' | 'ollama-native';
  readonly provider: ProviderName;
  readonly capabilities: Capabilities;
  /**
   * Whether `answer` / `stream` may change anything. False for an OpenAI-compatible provider
   * without answer quirks: the gateway then relays the upstream bytes without asking.
   */
  readonly translates: boolean;
  /**
   * Why this backend cannot serve `request` at all (a capability it lacks), as a
   * CAPABILITY_UNSUPPORTED error; undefined when it can. Checked before any upstream call.
   */
  unsupported(request: AdapterRequest, backendId: string): OptimizerError | undefined;
  /** The upstream call for `request`. */
  prepare(request: AdapterRequest): PreparedCall;
  /** An upstream error answer (status ≥ 400) as an OptimizerError with the right code. */
  error(status: number, headers: Record<string, string | string[] | undefined>, text: string, backendId: string): OptimizerError;
  /**
   * Turns a complete upstream JSON answer into OpenAI's format; undefined = pass the upstream
   * bytes through untouched (the OpenAI-compatible fast path).
   */
  answer(value: unknown, context: AnswerContext): Json | undefined;
  /** How the upstream frames a stream. */
  readonly framing: StreamFraming;
  /** A translator for one stream. */
  stream(context: AnswerContext): StreamTranslator;
  /** The upstream call listing the backend's own models (`GET /admin/backends/:id/models`). */
  listModels(): ModelListCall;
  /** That call's answer in OpenAI's list shape. */
  modelList(value: unknown): ModelList;
}

/** The adapter-relevant part of a backend's config. */
export type AdapterBackend = Pick<BackendConfig, 'id' | 'provider'>;
