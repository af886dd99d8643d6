/**
 * What the native loopback upstreams (anthropic-upstream.ts, gemini-upstream.ts,
 * ollama-upstream.ts) share: an HTTP server on 127.0.0.1 port 0, a queue of scripted behaviours,
 * a call counter, the recorded requests, and the failure mechanics that do not depend on the wire
 * format (resets, hangs, cut streams, delayed answers). Each provider module only routes a
 * request and writes its own format. (openai-upstream.ts predates this and keeps its own copy,
 * tuned as the throughput benchmark's baseline.)
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What a native upstream does with one request. */
export type NativeBehaviour =
  /** Answer normally. */
  | { kind: 'ok' }
  /** Answer `status` with the provider's error body for it (or `body`), plus `headers`. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string>; retryAfterSeconds?: number }
  /** Reset the connection (TCP RST) without answering. */
  | { kind: 'reset' }
  /** Never answer (released by `close()`). */
  | { kind: 'hang' }
  /** 200 with a body that is not valid JSON (a stream: one event that is not JSON, then the rest). */
  | { kind: 'malformed' }
  /** A stream sends `afterChunks` content events, then the socket is destroyed. */
  | { kind: 'cut-stream'; afterChunks: number }
  /** A 200 stream sends `afterChunks` content events, then the provider's in-stream error. */
  | { kind: 'stream-error'; afterChunks: number; message?: string }
  /** Wait `delayMs` before answering. */
  | { kind: 'slow'; delayMs: number };

export interface NativeRecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (the raw text when not JSON; undefined when empty). */
  body: unknown;
}

export interface NativeUpstream {
  /** The base URL to configure the backend with (the provider preset's shape). */
  readonly url: string;
  readonly port: number;
  /** Requests the script answered since start (or `reset()`); the preflight's (model-list probes, auth failures, unknown paths) are not counted. */
  readonly calls: number;
  readonly requests: NativeRecordedRequest[];
  /** The last request received. */
  readonly last: NativeRecordedRequest | undefined;
  script(behaviours: NativeBehaviour[]): void;
  setDefault(behaviour: NativeBehaviour): void;
  reset(): void;
  close(): Promise<void>;
}

/** One routed request, handed to the provider module with its behaviour. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  recorded: NativeRecordedRequest;
  behaviour: NativeBehaviour;
}

/** The provider part: route a request (undefined = the provider's 404), then answer it. */
export interface ProviderHandler {
  /** Path prefix of the base URL (e.g. `/v1beta`), '' for the root. */
  basePath: string;
  /** Answers requests that need no behaviour (auth failures, unknown paths); true when it answered. */
  preflight(exchange: Omit<Exchange, 'behaviour'>): boolean;
  answer(exchange: Exchange): void;
}

export interface ScriptedOptions {
  defaultBehaviour?: NativeBehaviour;
}

function check(b: NativeBehaviour, name: string): void {
  const int = (v: unknown, field: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TypeError(`${name}.${field} must be a non-negative integer, got ${String(v)}`);
  };
  switch (b.kind) {
    case 'status':
      if (!Number.isInteger(b.status) || b.status < 100 || b.status > 599) throw new TypeError(`${name}.status must be an HTTP status, got ${String(b.status)}`);
      if (b.retryAfterSeconds !== undefined) int(b.retryAfterSeconds, 'retryAfterSeconds');
      return;
    case 'cut-stream':
    case 'stream-error':
      int(b.afterChunks, 'afterChunks');
      return;
    case 'slow':
      int(b.delayMs, 'delayMs');
      return;
    case 'ok':
    case 'reset':
    case 'hang':
    case 'malformed':
      return;
    default:
      throw new TypeError(`${name}.kind is not a known behaviour: ${JSON.stringify(b)}`);
  }
}

/** Starts a scripted server for one provider; resolves once it listens on 127.0.0.1. */
export function startScriptedServer(handler: ProviderHandler, options: ScriptedOptions = {}): Promise<NativeUpstream> {
  const configuredDefault: NativeBehaviour = options.defaultBehaviour ?? { kind: 'ok' };
  check(configuredDefault, 'options.defaultBehaviour');
  let defaultBehaviour = configuredDefault;
  let queue: NativeBehaviour[] = [];
  let calls = 0;
  const requests: NativeRecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const recorded: NativeRecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
    // Probes and unknown paths (the preflight's) are not calls: `calls` and `requests` count what the script answers.
    if (handler.preflight({ req, res, recorded })) return;
    calls++;
    requests.push(recorded);
    const behaviour = queue.shift() ?? defaultBehaviour;
    const go = () => {
      if (res.destroyed) return;
      if (behaviour.kind === 'reset') req.socket.resetAndDestroy();
      else if (behaviour.kind !== 'hang') handler.answer({ req, res, recorded, behaviour });
    };
    if (behaviour.kind === 'slow') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        go();
      }, behaviour.delayMs);
      timers.add(timer);
    } else go();
  };

  const server = createServer((req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 65_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  return new Promise<NativeUpstream>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}${handler.basePath}`,
        port,
        get calls() {
          return calls;
        },
        get requests() {
          return requests;
        },
        get last() {
          return requests[requests.length - 1];
        },
        script(behaviours) {
          behaviours.forEach((b, i) => check(b, `script()[${i}]`));
          queue = queue.concat(behaviours);
        },
        setDefault(behaviour) {
          check(behaviour, 'setDefault()');
          defaultBehaviour = behaviour;
        },
        reset() {
          queue = [];
          defaultBehaviour = configuredDefault;
          calls = 0;
          requests.length = 0;
        },
        close() {
          closing ??= new Promise<void>((done) => {
            for (const timer of timers) clearTimeout(timer);
            timers.clear();
            const closed: Promise<void>[] = [new Promise<void>((r) => server.close(() => r()))];
            for (const socket of sockets) {
              closed.push(new Promise<void>((r) => socket.once('close', () => r())));
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

// ── writing helpers ──────────────────────────────────────────────────────────────────────────────

export function sendJsonBody(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** A 200 answer whose body is cut in the middle of its JSON (`malformed`). */
export function sendMalformed(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  sendJsonBody(res, 200, text.slice(0, text.length >> 1));
}

/**
 * Writes a 200 stream of `frames` (already framed: SSE events or NDJSON lines), shaped by the
 * behaviour: `cut-stream` keeps the first `afterChunks` of `content` frames and destroys the socket;
 * `stream-error` keeps as many and ends with `errorFrame`; `malformed` puts `badFrame` after the first.
 * `head` frames (e.g. Anthropic's message_start) always go first and are not counted.
 */
export function sendFrames(
  res: ServerResponse,
  contentType: string,
  frames: { head: string[]; content: string[]; tail: string[] },
  behaviour: NativeBehaviour,
  special: { errorFrame: string; badFrame: string },
  headers: Record<string, string> = {},
): void {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
  let out: string[];
  let cut = false;
  switch (behaviour.kind) {
    case 'cut-stream':
      out = [...frames.head, ...frames.content.slice(0, behaviour.afterChunks)];
      cut = true;
      break;
    case 'stream-error':
      out = [...frames.head, ...frames.content.slice(0, behaviour.afterChunks), special.errorFrame];
      break;
    case 'malformed':
      out = [...frames.head, ...frames.content.slice(0, 1), special.badFrame, ...frames.content.slice(1), ...frames.tail];
      break;
    default:
      out = [...frames.head, ...frames.content, ...frames.tail];
  }
  res.cork();
  for (const frame of out) res.write(frame);
  res.uncork();
  if (!cut) {
    res.end();
    return;
  }
  const socket = res.socket;
  if (!socket) return;
  if (socket.writableLength === 0) socket.destroy();
  else socket.once('drain', () => socket.destroy());
}

// ── deterministic content shared by the fakes ─────────────────────────────────────────────────────

/** Splits `text` into at most `pieces` non-empty parts. */
export function splitText(text: string, pieces: number): string[] {
  if (pieces <= 1 || text.length <= 1) return [text];
  const size = Math.ceil(text.length / pieces);
  const parts: string[] = [];
  for (let start = 0; start < text.length; start += size) parts.push(text.slice(start, start + size));
  return parts;
}

/** A rough token count (4 characters a token). */
export function tokensOf(chars: number): number {
  return chars === 0 ? 0 : Math.ceil(chars / 4);
}
