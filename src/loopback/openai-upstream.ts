/**
 * A loopback server that speaks OpenAI's wire format, used by integration tests and benchmarks as a
 * fake provider: `POST /v1/chat/completions` (plain and streamed, tool calls), `POST /v1/embeddings`
 * (float and base64), `GET /v1/models` and `GET /v1/models/{id}`.
 *
 * Answers are deterministic: the reply to a chat is `echo: <text of the last user message>`; an
 * embedding is derived from a hash of its input. Failures are scripted per request with
 * {@link Behaviour}s (status codes, resets, hangs, malformed bodies, cut or erroring streams, slow
 * answers, keep-alive comments).
 *
 * The default path (behaviour `ok`, `record: false`, no latency) is the baseline of the throughput
 * benchmark, so it does no timer, no extra copy and one `res.end` for a plain answer.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { flavourReasoningField, flavourRejection, flavourToolCallId, flavourWire, type Flavour } from './openai-flavours.js';

// ── public types ─────────────────────────────────────────────────────────────────────────────────

/**
 * What the upstream does with one request. Stream-shaped behaviours also apply to non-streamed
 * answers, as described on each kind.
 */
export type Behaviour =
  /** Answer normally. */
  | { kind: 'ok' }
  /**
   * Answer `status` with an OpenAI-shaped error body (or `body`: a string is sent as is, anything
   * else as JSON). A 429 always carries `retry-after` (default 1 s) and `x-ratelimit-remaining-requests: 0`;
   * other statuses carry `retry-after` only when `retryAfterSeconds` is given.
   */
  | {
      kind: 'status';
      status: number;
      retryAfterSeconds?: number;
      /** Wait this long before answering (so that identical requests overlap with a failing one). */
      delayMs?: number;
      body?: unknown;
      headers?: Record<string, string>;
    }
  /** Read the request, then reset the connection (TCP RST) without answering. */
  | { kind: 'reset' }
  /** Accept the request and never answer; the socket is destroyed by `close()`. */
  | { kind: 'hang' }
  /**
   * 200 with a body that is not valid JSON (plain answers: the JSON truncated in the middle); for a
   * stream, the second `data:` line is not JSON and the stream then goes on to `[DONE]`.
   */
  | { kind: 'malformed' }
  /**
   * A stream sends its first `afterChunks` `data:` events and then the socket is destroyed (no
   * `[DONE]`). A plain answer sends its headers and half of its body, then the socket is destroyed.
   */
  | { kind: 'cut-stream'; afterChunks: number }
  /**
   * OpenRouter-style: after `afterChunks` `data:` events of a 200 stream, a
   * `data: {"error":{"code":502,"message":...}}` event, then the stream ends (no `[DONE]`).
   * A plain answer is a 200 whose body is that error object.
   */
  | { kind: 'stream-error'; afterChunks: number; code?: number; message?: string }
  /** Wait `delayMs` before the headers, and `chunkDelayMs` (default 0) between stream events. */
  | { kind: 'slow'; delayMs: number; chunkDelayMs?: number }
  /**
   * A stream carries `comments` comment lines (alternately `: keep-alive` (DeepSeek) and
   * `: OPENROUTER PROCESSING` (OpenRouter)), each followed by a blank line, half before the first
   * event and the rest among the events. A plain answer is preceded by `comments` newlines, as
   * DeepSeek does while a request waits (still valid JSON).
   */
  | { kind: 'keepalive'; comments: number }
  /**
   * The status line and headers go out at once; the first byte of the body `ms` later (a
   * first-token / body timeout, where `slow` exercises a headers timeout).
   */
  | { kind: 'delay-first-byte'; ms: number };

export type BehaviourKind = Behaviour['kind'];

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  /** The behaviour applied, once the request was routed to an endpoint (not for 404/401). */
  behaviour?: BehaviourKind;
}

export interface UpstreamOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Delay before every answer, in ms. Default 0: answer at once, no timer. */
  latencyMs?: number;
  /** Number of content pieces a streamed answer is split into. Default 4. */
  chunks?: number;
  /** Models listed by `GET /v1/models`. Default `['test-model']`. Requests may name any model. */
  models?: string[];
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get a 401. */
  apiKey?: string;
  /**
   * Behave like one provider (openai-flavours.ts): reject the fields it rejects with its own error
   * shape, answer with its reasoning field and tool-call ids. Default: plain OpenAI.
   */
  flavour?: Flavour;
  /** Record every request in `requests`. Default true; turn it off for benchmarks. */
  record?: boolean;
  /** Embedding length when the request gives no `dimensions`. Default 8. */
  embeddingDimensions?: number;
  /** Behaviour when the script is empty. Default `{ kind: 'ok' }`. */
  defaultBehaviour?: Behaviour;
  /** Values of the `x-ratelimit-*` headers sent with every answer. */
  rateLimit?: {
    limitRequests?: number;
    remainingRequests?: number;
    /** Duration string as OpenAI sends it, e.g. `12ms`, `1s`, `6m0s`. */
    resetRequests?: string;
    limitTokens?: number;
    remainingTokens?: number;
    resetTokens?: string;
  };
}

export interface OpenAIUpstream {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:41234/v1`: give it to an SDK as `baseURL`. */
  readonly url: string;
  readonly port: number;
  /** Requests received on any path since start (or the last `reset()`), counted on arrival. */
  readonly calls: number;
  /** Recorded requests, oldest first (empty when `record: false`). */
  readonly requests: RecordedRequest[];
  /** Sockets currently open. */
  readonly openConnections: number;
  /** Requests whose client went away before the answer was complete (cancelled or timed out by the caller). */
  readonly abandoned: number;
  /** Appends behaviours to the queue: the next routed requests take them in order, then the default. */
  script(behaviours: Behaviour[]): void;
  /** Behaviour for requests when the queue is empty. */
  setDefault(behaviour: Behaviour): void;
  /** Empties the queue and the records, sets the default back to the configured one, zeroes `calls`. */
  reset(): void;
  /** Stops listening and destroys every open socket (hung requests included). Idempotent. */
  close(): Promise<void>;
}

// ── fixed texts ──────────────────────────────────────────────────────────────────────────────────

const MODELS_CREATED = 1_700_000_000;
const SYSTEM_FINGERPRINT = 'fp_loopback';
const KEEPALIVE_COMMENTS = [': keep-alive\n\n', ': OPENROUTER PROCESSING\n\n'] as const;
const INVALID_JSON_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | number | null;
}

/** The error body OpenAI sends for a status (type and code as observed on the real API). */
function defaultErrorFor(status: number, model: string, retryAfterSeconds: number): OpenAIErrorBody {
  switch (status) {
    case 400:
      return { message: 'Invalid request.', type: 'invalid_request_error', param: null, code: null };
    case 401:
      return {
        message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      };
    case 403:
      return {
        message: 'Country, region, or territory not supported',
        type: 'request_forbidden',
        param: null,
        code: 'unsupported_country_region_territory',
      };
    case 404:
      return {
        message: `The model \`${model}\` does not exist or you do not have access to it.`,
        type: 'invalid_request_error',
        param: null,
        code: 'model_not_found',
      };
    case 429:
      return {
        message: `Rate limit reached for ${model} in organization org-loopback on requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in ${retryAfterSeconds}s.`,
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      };
    case 500:
      return {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
        param: null,
        code: null,
      };
    case 502:
      return { message: 'Bad gateway.', type: 'cf_bad_gateway', param: null, code: 502 };
    case 503:
      return {
        message: 'The engine is currently overloaded, please try again later.',
        type: 'server_error',
        param: null,
        code: null,
      };
    case 504:
      return { message: 'Gateway timeout.', type: 'cf_gateway_timeout', param: null, code: 504 };
    default:
      return status >= 500
        ? { message: `Upstream error ${status}.`, type: 'server_error', param: null, code: null }
        : { message: `Request failed with status ${status}.`, type: 'invalid_request_error', param: null, code: null };
  }
}

// ── option and behaviour checks ──────────────────────────────────────────────────────────────────

function checkNonNegativeInteger(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}

function checkBehaviour(b: Behaviour, name: string): void {
  switch (b.kind) {
    case 'ok':
    case 'reset':
    case 'hang':
    case 'malformed':
      return;
    case 'status':
      if (!Number.isInteger(b.status) || b.status < 100 || b.status > 599) {
        throw new TypeError(`${name}.status must be an HTTP status (100-599), got ${String(b.status)}`);
      }
      if (b.retryAfterSeconds !== undefined) checkNonNegativeInteger(b.retryAfterSeconds, `${name}.retryAfterSeconds`);
      if (b.delayMs !== undefined) checkNonNegativeInteger(b.delayMs, `${name}.delayMs`);
      return;
    case 'cut-stream':
    case 'stream-error':
      checkNonNegativeInteger(b.afterChunks, `${name}.afterChunks`);
      return;
    case 'slow':
      checkNonNegativeInteger(b.delayMs, `${name}.delayMs`);
      if (b.chunkDelayMs !== undefined) checkNonNegativeInteger(b.chunkDelayMs, `${name}.chunkDelayMs`);
      return;
    case 'keepalive':
      checkNonNegativeInteger(b.comments, `${name}.comments`);
      return;
    case 'delay-first-byte':
      checkNonNegativeInteger(b.ms, `${name}.ms`);
      return;
    default: {
      const unknown: never = b;
      throw new TypeError(`${name}.kind is not a known behaviour: ${JSON.stringify(unknown)}`);
    }
  }
}

// ── deterministic content ────────────────────────────────────────────────────────────────────────

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a message `content`: a string, or the `text` of its `{type:'text'}` parts joined by `\n`. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  let first = true;
  for (const part of content) {
    if (isObject(part) && typeof part.text === 'string') {
      text = first ? part.text : text + '\n' + part.text;
      first = false;
    }
  }
  return text;
}

function lastUserText(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (isObject(message) && message.role === 'user') return contentText(message.content);
  }
  return '';
}

/** A rough token count (4 characters a token), deterministic and cheap. */
function tokensOf(chars: number): number {
  return chars === 0 ? 0 : Math.ceil(chars / 4);
}

function promptChars(messages: unknown[]): number {
  let chars = 0;
  for (const message of messages) if (isObject(message)) chars += contentText(message.content).length;
  return chars;
}

/** Splits `text` into at most `pieces` non-empty parts of near-equal length, never inside a surrogate pair. */
function splitText(text: string, pieces: number): string[] {
  if (pieces <= 1 || text.length <= 1) return [text];
  const size = Math.ceil(text.length / pieces);
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + size, text.length);
    const before = text.charCodeAt(end - 1);
    if (end < text.length && before >= 0xd800 && before <= 0xdbff) end++;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
}

interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

function pickTool(tools: unknown[], toolChoice: unknown): string | undefined {
  if (isObject(toolChoice) && isObject(toolChoice.function) && typeof toolChoice.function.name === 'string') {
    return toolChoice.function.name;
  }
  for (const tool of tools) {
    if (isObject(tool) && isObject(tool.function) && typeof tool.function.name === 'string') return tool.function.name;
  }
  return undefined;
}

/** FNV-1a over UTF-16 code units. */
function hashText(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A unit-length vector derived from `text`; every component is a float32 value, so the float and
 * base64 (float32) encodings carry exactly the same numbers.
 */
export function embeddingFor(text: string, dimensions: number): Float32Array {
  let state = hashText(text, dimensions) || 1;
  const values = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const v = state / 0x80000000 - 1;
    values[i] = v;
    norm += v * v;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < dimensions; i++) values[i] = (values[i] ?? 0) * scale;
  return values;
}

function float32Base64(values: Float32Array): string {
  const buffer = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) buffer.writeFloatLE(values[i] ?? 0, i * 4);
  return buffer.toString('base64');
}

// ── server ───────────────────────────────────────────────────────────────────────────────────────

const OK: Behaviour = Object.freeze({ kind: 'ok' });

/** Starts the upstream; resolves once it listens. Options are checked synchronously (TypeError). */
export function startOpenAIUpstream(options: UpstreamOptions = {}): Promise<OpenAIUpstream> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const latencyMs = options.latencyMs ?? 0;
  const chunkCount = options.chunks ?? 4;
  const models = options.models ?? ['test-model'];
  const record = options.record ?? true;
  const flavour = options.flavour;
  const wire = flavour === undefined ? undefined : flavourWire(flavour);
  const defaultDimensions = options.embeddingDimensions ?? 8;
  const configuredDefault = options.defaultBehaviour ?? OK;
  checkNonNegativeInteger(port, 'options.port');
  checkNonNegativeInteger(latencyMs, 'options.latencyMs');
  checkNonNegativeInteger(chunkCount, 'options.chunks');
  if (chunkCount < 1) throw new TypeError('options.chunks must be at least 1');
  checkNonNegativeInteger(defaultDimensions, 'options.embeddingDimensions');
  if (defaultDimensions < 1) throw new TypeError('options.embeddingDimensions must be at least 1');
  if (!Array.isArray(models) || models.length === 0 || !models.every((m) => typeof m === 'string')) {
    throw new TypeError('options.models must be a non-empty array of strings');
  }
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey === '')) {
    throw new TypeError('options.apiKey must be a non-empty string');
  }
  checkBehaviour(configuredDefault, 'options.defaultBehaviour');
  const defaultModel = models[0] ?? 'test-model';
  const expectedAuthorization = options.apiKey === undefined ? undefined : `Bearer ${options.apiKey}`;

  const rl = options.rateLimit ?? {};
  const limitRequests = String(rl.limitRequests ?? 10_000);
  const limitTokens = String(rl.limitTokens ?? 30_000_000);
  const remainingTokens = String(rl.remainingTokens ?? 29_999_000);
  const resetRequests = rl.resetRequests ?? '6ms';
  const resetTokens = rl.resetTokens ?? '2ms';
  // Precomputed header lists (flat [name, value, ...] arrays, the cheapest form for writeHead).
  const rateLimitHeaders: string[] = wire && options.rateLimit === undefined ? [...wire.rateLimitHeaders] : [
    'x-ratelimit-limit-requests', limitRequests,
    'x-ratelimit-limit-tokens', limitTokens,
    'x-ratelimit-remaining-requests', String(rl.remainingRequests ?? 9_999),
    'x-ratelimit-remaining-tokens', remainingTokens,
    'x-ratelimit-reset-requests', resetRequests,
    'x-ratelimit-reset-tokens', resetTokens,
  ];
  const jsonHeaders: string[] = ['content-type', 'application/json', ...rateLimitHeaders];
  const sseHeaders: string[] = [
    'content-type', 'text/event-stream; charset=utf-8',
    'cache-control', 'no-cache',
    ...rateLimitHeaders,
  ];
  const modelsBody = JSON.stringify({
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created: MODELS_CREATED, owned_by: 'loopback' })),
  });

  let queue: Behaviour[] = [];
  let defaultBehaviour = configuredDefault;
  let calls = 0;
  let sequence = 0;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  /** setTimeout that close() can cancel. */
  function later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  function nextRequestId(): string {
    sequence++;
    return 'req_loopback' + sequence.toString(16).padStart(20, '0');
  }

  // ── writing answers ──

  function sendError(
    res: ServerResponse,
    status: number,
    error: OpenAIErrorBody | string,
    extraHeaders: OutgoingHttpHeader[] = [],
  ): void {
    const body = typeof error === 'string' ? error : JSON.stringify({ error });
    const isJson = typeof error !== 'string' || /^\s*[[{]/.test(error);
    res.writeHead(status, [
      'content-type', isJson ? 'application/json' : 'text/plain; charset=utf-8',
      'content-length', String(Buffer.byteLength(body)),
      'x-request-id', nextRequestId(),
      ...extraHeaders,
    ]);
    res.end(body);
  }

  function sendScriptedStatus(res: ServerResponse, b: Extract<Behaviour, { kind: 'status' }>, model: string): void {
    const extra: string[] = [];
    let retryAfter = b.retryAfterSeconds;
    if (wire) {
      // The provider's own 429 headers and error bodies.
      if (b.status === 429) extra.push(...wire.rateLimited(retryAfter ?? 1));
      else if (retryAfter !== undefined) extra.push('retry-after', String(retryAfter));
      if (b.headers) for (const [name, value] of Object.entries(b.headers)) extra.push(name, value);
      const given = b.body === undefined ? undefined : typeof b.body === 'string' ? b.body : JSON.stringify(b.body);
      sendError(res, b.status, given ?? wire.errorBody(b.status, model, retryAfter ?? 1) ?? defaultErrorFor(b.status, model, retryAfter ?? 1), extra);
      return;
    }
    if (b.status === 429) {
      retryAfter ??= 1;
      extra.push(
        'x-ratelimit-limit-requests', limitRequests,
        'x-ratelimit-limit-tokens', limitTokens,
        'x-ratelimit-remaining-requests', '0',
        'x-ratelimit-remaining-tokens', remainingTokens,
        'x-ratelimit-reset-requests', `${retryAfter}s`,
        'x-ratelimit-reset-tokens', resetTokens,
      );
    }
    if (retryAfter !== undefined) extra.push('retry-after', String(retryAfter));
    if (b.headers) for (const [name, value] of Object.entries(b.headers)) extra.push(name, value);
    let body: OpenAIErrorBody | string;
    if (b.body === undefined) body = defaultErrorFor(b.status, model, retryAfter ?? 1);
    else body = typeof b.body === 'string' ? b.body : JSON.stringify(b.body);
    sendError(res, b.status, body, extra);
  }

  /** Destroys the socket once what was written has been handed to the kernel. */
  function cutAfterFlush(res: ServerResponse): void {
    const socket = res.socket;
    if (!socket) return;
    if (socket.writableLength === 0) socket.destroy();
    else socket.once('drain', () => socket.destroy());
  }

  /** A plain (non-streamed) 200 JSON answer, shaped by the behaviour. */
  function sendJson(res: ServerResponse, body: string, b: Behaviour): void {
    switch (b.kind) {
      case 'malformed':
        body = body.slice(0, body.length >> 1);
        break;
      case 'keepalive':
        body = '\n'.repeat(b.comments) + body;
        break;
      case 'stream-error':
        body = JSON.stringify({ error: { code: b.code ?? 502, message: b.message ?? 'Upstream provider error (loopback).' } });
        break;
      default:
        break;
    }
    if (wire && wire.jsonPrefix !== '' && b.kind !== 'malformed') body = wire.jsonPrefix + body;
    const headers = [...jsonHeaders, 'content-length', String(Buffer.byteLength(body)), 'x-request-id', nextRequestId()];
    if (b.kind === 'cut-stream') {
      res.writeHead(200, headers);
      res.write(body.slice(0, body.length >> 1), () => cutAfterFlush(res));
      return;
    }
    if (b.kind === 'delay-first-byte' && b.ms > 0) {
      res.writeHead(200, headers);
      res.flushHeaders();
      later(() => {
        if (!res.destroyed) res.end(body);
      }, b.ms);
      return;
    }
    res.writeHead(200, headers);
    res.end(body);
  }

  /** A 200 SSE answer: `events` are complete `data: ...\n\n` frames, the last one `data: [DONE]`. */
  function sendStream(res: ServerResponse, events: string[], b: Behaviour, chunk?: { id: string; created: number; model: string }): void {
    let frames = events;
    let gapMs = 0;
    let firstDelayMs = 0;
    let cut = false;
    const dataEvents = events.length - 1; // without [DONE]
    switch (b.kind) {
      case 'slow':
        gapMs = b.chunkDelayMs ?? 0;
        break;
      case 'delay-first-byte':
        firstDelayMs = b.ms;
        break;
      case 'cut-stream':
        frames = events.slice(0, Math.min(b.afterChunks, dataEvents));
        cut = true;
        break;
      case 'stream-error': {
        const error = { code: b.code ?? 502, message: b.message ?? 'Upstream provider error (loopback).' };
        frames = events.slice(0, Math.min(b.afterChunks, dataEvents));
        frames.push(wire && chunk ? wire.streamError(error.code, error.message, chunk) : 'data: ' + JSON.stringify({ error }) + '\n\n');
        break;
      }
      case 'malformed': {
        const [first, ...rest] = events;
        frames = [first ?? '', 'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":\n\n', ...rest];
        break;
      }
      case 'keepalive': {
        frames = [];
        const before = Math.ceil(b.comments / 2);
        let emitted = 0;
        while (emitted < before) frames.push(KEEPALIVE_COMMENTS[emitted++ % 2] ?? '');
        const among = b.comments - before;
        const slots = Math.max(1, events.length - 1);
        for (let i = 0; i < events.length; i++) {
          frames.push(events[i] ?? '');
          if (i < events.length - 1) {
            // Spread the rest evenly between events, with an extra blank line now and then.
            const upTo = Math.ceil((among * (i + 1)) / slots);
            while (emitted - before < upTo) {
              frames.push(KEEPALIVE_COMMENTS[emitted++ % 2] ?? '');
              if (emitted % 3 === 0) frames.push('\n');
            }
          }
        }
        break;
      }
      default:
        break;
    }
    const comment = wire?.streamComment;
    if (comment !== undefined && b.kind !== 'keepalive') {
      // The provider's filler: a comment before the first event and after every event but the last.
      const filled: string[] = [comment];
      frames.forEach((frame, i) => {
        filled.push(frame);
        if (i < frames.length - 1) filled.push(comment);
      });
      frames = filled;
    }
    res.writeHead(200, [...sseHeaders, 'x-request-id', nextRequestId()]);
    // A cut stream has started: the client must see the 200 even when no event precedes the cut.
    if (cut) res.flushHeaders();

    if (gapMs === 0 && firstDelayMs === 0) {
      // All at once: one syscall, one HTTP chunk per event (as a real upstream frames them).
      res.cork();
      for (const frame of frames) res.write(frame);
      if (cut) {
        res.uncork();
        cutAfterFlush(res);
      } else {
        res.end();
      }
      return;
    }

    res.flushHeaders();
    let index = 0;
    const step = (): void => {
      if (res.destroyed) return;
      if (index >= frames.length) {
        if (cut) cutAfterFlush(res);
        else res.end();
        return;
      }
      res.write(frames[index++] ?? '');
      if (gapMs > 0 && index < frames.length) later(step, gapMs);
      else step();
    };
    if (firstDelayMs > 0) later(step, firstDelayMs);
    else step();
  }

  // ── endpoints ──

  function chatCompletions(res: ServerResponse, body: Json, b: Behaviour): void {
    const messages = body.messages;
    if (!Array.isArray(messages)) {
      sendError(res, 400, {
        message: "Missing required parameter: 'messages'.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'missing_required_parameter',
      });
      return;
    }
    if (flavour !== undefined) {
      const rejection = flavourRejection(flavour, body);
      if (rejection) {
        sendError(res, rejection.status, rejection.body);
        return;
      }
    }
    const model = typeof body.model === 'string' ? body.model : defaultModel;
    const text = lastUserText(messages);
    const reasoningField = flavourReasoningField(flavour, model);
    const id = 'chatcmpl-loopback' + (++sequence).toString(36);
    const created = Math.floor(Date.now() / 1000);
    let toolCall: ToolCall | undefined;
    if (Array.isArray(body.tools) && body.tools.length > 0 && text.includes('call_tool')) {
      const name = pickTool(body.tools, body.tool_choice);
      if (name !== undefined) {
        toolCall = { id: flavourToolCallId(flavour, sequence) ?? 'call_loopback' + sequence.toString(36), name, arguments: JSON.stringify({ input: text }) };
      }
    }
    const content = toolCall ? '' : 'echo: ' + text;
    const promptTokens = tokensOf(promptChars(messages));
    const completionTokens = tokensOf(toolCall ? toolCall.arguments.length + toolCall.name.length : content.length);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const finishReason = toolCall ? 'tool_calls' : 'stop';

    if (body.stream !== true) {
      const message = toolCall
        ? {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: toolCall.arguments } }],
            refusal: null,
            annotations: [],
          }
        : { role: 'assistant', content, refusal: null, annotations: [] };
      if (reasoningField) (message as Json)[reasoningField] = 'thinking: ' + text;
      const answer = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage,
        service_tier: 'default',
        system_fingerprint: SYSTEM_FINGERPRINT,
      });
      sendJson(res, answer, b);
      return;
    }

    // Groq reports a stream's usage only in its final chunk's x_groq.usage.
    const includeUsage = flavour !== 'groq' && isObject(body.stream_options) && body.stream_options.include_usage === true;
    // OpenRouter sends the usage chunk whether asked or not (`include_usage` is deprecated there).
    const usageChunk = includeUsage || wire?.alwaysUsage === true;
    const events: string[] = [];
    const pushChunk = (choices: unknown[], chunkUsage?: unknown): void => {
      const chunk: Json = {
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        service_tier: 'default',
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices,
      };
      if (includeUsage) chunk.usage = chunkUsage ?? null;
      else if (chunkUsage !== undefined) chunk.usage = chunkUsage;
      events.push('data: ' + JSON.stringify(chunk) + '\n\n');
    };
    const choice = (delta: Json, finish: string | null = null): Json => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finish,
    });
    if (toolCall) {
      pushChunk([
        choice({
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: '' } }],
          refusal: null,
        }),
      ]);
      for (const piece of splitText(toolCall.arguments, chunkCount)) {
        pushChunk([choice({ tool_calls: [{ index: 0, function: { arguments: piece } }] })]);
      }
    } else {
      pushChunk([choice({ role: 'assistant', content: '', refusal: null })]);
      if (reasoningField) pushChunk([choice({ [reasoningField]: 'thinking: ' + text })]);
      for (const piece of splitText(content, chunkCount)) pushChunk([choice({ content: piece })]);
    }
    if (flavour === 'groq') {
      // Groq's final chunk carries its usage (with timings) under x_groq.
      const chunk: Json = { id, object: 'chat.completion.chunk', created, model, choices: [choice({}, finishReason)], x_groq: { id: 'req_loopback', usage: { ...usage, queue_time: 0.01, total_time: 0.02 } } };
      events.push('data: ' + JSON.stringify(chunk) + '\n\n');
    } else pushChunk([choice({}, finishReason)]);
    if (usageChunk) pushChunk([], usage);
    events.push('data: [DONE]\n\n');
    sendStream(res, events, b, { id, created, model });
  }

  function embeddings(res: ServerResponse, body: Json, b: Behaviour): void {
    const input = body.input;
    let inputs: string[];
    if (typeof input === 'string') inputs = [input];
    else if (Array.isArray(input) && input.length > 0) inputs = input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
    else {
      sendError(res, 400, {
        message: "'input' is a required property and must be a string or a non-empty array.",
        type: 'invalid_request_error',
        param: 'input',
        code: null,
      });
      return;
    }
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') {
      sendError(res, 400, {
        message: `${JSON.stringify(format)} is not one of ['float', 'base64'] - 'encoding_format'`,
        type: 'invalid_request_error',
        param: 'encoding_format',
        code: null,
      });
      return;
    }
    const dimensions = body.dimensions ?? defaultDimensions;
    if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > 4096) {
      sendError(res, 400, {
        message: 'dimensions must be an integer between 1 and 4096.',
        type: 'invalid_request_error',
        param: 'dimensions',
        code: null,
      });
      return;
    }
    let chars = 0;
    const data = inputs.map((text, index) => {
      chars += text.length;
      const vector = embeddingFor(text, dimensions);
      return {
        object: 'embedding',
        index,
        embedding: format === 'base64' ? float32Base64(vector) : Array.from(vector),
      };
    });
    const tokens = tokensOf(chars);
    const model = typeof body.model === 'string' ? body.model : defaultModel;
    sendJson(
      res,
      JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }),
      b,
    );
  }

  // ── request handling ──

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';

    let body: unknown;
    let bodyIsJson = true;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        bodyIsJson = false;
      }
    }
    let recorded: RecordedRequest | undefined;
    if (record && !(flavour === 'vllm' && method === 'GET')) {
      recorded = { method, path, headers: req.headers, body: bodyIsJson ? body : raw };
      requests.push(recorded);
    }

    let endpoint: 'chat' | 'embeddings' | 'models' | 'model' | undefined;
    if (method === 'POST') {
      if (path === '/v1/chat/completions') endpoint = 'chat';
      else if (path === '/v1/embeddings') endpoint = 'embeddings';
    } else if (method === 'GET') {
      if (path === '/v1/models') endpoint = 'models';
      else if (path.startsWith('/v1/models/') && path.length > 11) endpoint = 'model';
    }
    if (endpoint === undefined) {
      sendError(res, 404, { message: `Invalid URL (${method} ${path})`, type: 'invalid_request_error', param: null, code: null });
      return;
    }
    if (expectedAuthorization !== undefined && req.headers.authorization !== expectedAuthorization) {
      const given = req.headers.authorization;
      sendError(res, 401, {
        message:
          given === undefined || given === ''
            ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            : 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      });
      return;
    }

    const b = queue.length > 0 ? (queue.shift() ?? defaultBehaviour) : defaultBehaviour;
    if (recorded) recorded.behaviour = b.kind;

    const delay = latencyMs + (b.kind === 'slow' ? b.delayMs : 0);
    if (delay > 0) later(() => answer(req, res, endpoint, path, body, bodyIsJson, b), delay);
    else answer(req, res, endpoint, path, body, bodyIsJson, b);
  }

  function answer(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: 'chat' | 'embeddings' | 'models' | 'model',
    path: string,
    body: unknown,
    bodyIsJson: boolean,
    b: Behaviour,
  ): void {
    if (res.destroyed) return;
    switch (b.kind) {
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        return; // released when close() destroys the socket
      case 'status': {
        const model = isObject(body) && typeof body.model === 'string' ? body.model : defaultModel;
        if (b.delayMs) later(() => sendScriptedStatus(res, b, model), b.delayMs);
        else sendScriptedStatus(res, b, model);
        return;
      }
      default:
        break;
    }
    if (endpoint === 'models') {
      sendJson(res, modelsBody, b);
      return;
    }
    if (endpoint === 'model') {
      const id = decodeURIComponent(path.slice(11));
      if (models.includes(id)) {
        sendJson(res, JSON.stringify({ id, object: 'model', created: MODELS_CREATED, owned_by: 'loopback' }), b);
      } else {
        sendError(res, 404, {
          message: `The model '${id}' does not exist`,
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        });
      }
      return;
    }
    if (!bodyIsJson) {
      sendError(res, 400, { message: INVALID_JSON_MESSAGE, type: 'invalid_request_error', param: null, code: null });
      return;
    }
    if (!isObject(body)) {
      sendError(res, 400, {
        message: 'The request body must be a JSON object.',
        type: 'invalid_request_error',
        param: null,
        code: null,
      });
      return;
    }
    if (endpoint === 'chat') chatCompletions(res, body, b);
    else embeddings(res, body, b);
  }

  let abandoned = 0;
  const server = createServer((req, res) => {
    // vLLM is probed (GET /health: 200 with an empty body; GET /v1/models): probes are neither calls nor recorded.
    const probe = flavour === 'vllm' && req.method === 'GET';
    if (probe && req.url === '/health') {
      req.resume();
      res.writeHead(200, ['content-length', '0']);
      res.end();
      return;
    }
    if (!probe) calls++;
    req.on('error', noop);
    res.on('error', noop);
    res.on('close', () => {
      if (!res.writableFinished && !closing) abandoned++;
    });
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    req.on('data', (chunk: Buffer) => {
      if (first === undefined) first = chunk;
      else (more ??= [first]).push(chunk);
    });
    req.on('end', () => {
      const raw = more ? Buffer.concat(more).toString('utf8') : first ? first.toString('utf8') : '';
      handle(req, res, raw);
    });
  });
  // Outlive the client's keep-alive so that a pooled connection is never closed under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  return new Promise<OpenAIUpstream>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${urlHost}:${address.port}/v1`;
      resolve({
        url,
        port: address.port,
        get calls() {
          return calls;
        },
        get requests() {
          return requests;
        },
        get openConnections() {
          return sockets.size;
        },
        get abandoned() {
          return abandoned;
        },
        script(behaviours: Behaviour[]): void {
          behaviours.forEach((b, i) => checkBehaviour(b, `script()[${i}]`));
          queue = queue.concat(behaviours);
        },
        setDefault(behaviour: Behaviour): void {
          checkBehaviour(behaviour, 'setDefault()');
          defaultBehaviour = behaviour;
        },
        reset(): void {
          queue = [];
          defaultBehaviour = configuredDefault;
          calls = 0;
          requests.length = 0;
        },
        close(): Promise<void> {
          closing ??= new Promise<void>((done) => {
            for (const timer of timers) clearTimeout(timer);
            timers.clear();
            const closed: Promise<void>[] = [new Promise<void>((resolveServer) => server.close(() => resolveServer()))];
            for (const socket of sockets) {
              closed.push(new Promise<void>((resolveSocket) => socket.once('close', () => resolveSocket())));
              socket.destroy();
            }
            void Promise.all(closed).then(() => done());
          });
          return closing;
        },
      });
    });
  });
}

function noop(): void {}
