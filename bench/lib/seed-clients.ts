/**
 * The two kinds of agent of the seed load scenario (bench/seed-load.ts): a WebSocket session that
 * sends all its requests at once on one connection (JSON text or msgpack binary frames), and an HTTP
 * caller on a shared keep-alive undici Pool. Both prepare their requests first (`prepare`), so
 * that firing them costs as little as possible and every call of a wave starts together, and both
 * measure per call: send → complete answer, send → first streamed chunk, the status or error, the
 * cache and dedupe outcome the optimizer reported, and whether the answer is the one asked for.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { pack, unpack } from 'msgpackr';
import type { Pool } from 'undici';
import WebSocket from 'ws';
import type { PlannedCall, PromptKind, Transport } from './seed-plan.js';

export interface CallResult {
  wave: number;
  index: number;
  transport: Transport;
  agentId: string;
  kind: PromptKind;
  promptId: string;
  stream: boolean;
  key: string;
  /** A complete, successful answer (2xx, and for a stream a clean end). */
  ok: boolean;
  error: string | undefined;
  status: number | undefined;
  /** `x-cache` / `meta.cache`; undefined when the answer did not say. */
  cache: string | undefined;
  /** `x-dedupe` / `meta.dedupe`; undefined when absent. */
  dedupe: string | undefined;
  /** Send → complete answer, ms. */
  latencyMs: number;
  /** `performance.now()` when the answer was complete (or failed). */
  doneAt: number;
  /** Send → first chunk (streams only), ms. */
  firstChunkMs: number | undefined;
  /** HTTP only: send → the request body written to the socket by undici, ms (the client's own delay). */
  wireMs: number | undefined;
  /** The answer text contains the request's tag (the loopback echoes the prompt). */
  answerOk: boolean;
}

function blank(call: PlannedCall, wave: number): CallResult {
  return {
    wave,
    index: call.index,
    transport: call.transport,
    agentId: call.agentId,
    kind: call.kind,
    promptId: call.promptId,
    stream: call.stream,
    key: call.key,
    ok: false,
    error: undefined,
    status: undefined,
    cache: undefined,
    dedupe: undefined,
    latencyMs: Number.NaN,
    doneAt: Number.NaN,
    firstChunkMs: undefined,
    wireMs: undefined,
    answerOk: false,
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

type Json = Record<string, unknown>;
function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

/** `choices[0].message.content` of a chat completion. */
function messageContent(data: unknown): string {
  const choice = (obj(data)?.['choices'] as unknown[] | undefined)?.[0];
  return str(obj(obj(choice)?.['message'])?.['content']) ?? '';
}

/** `choices[0].delta.content` of a chunk. */
function deltaContent(data: unknown): string {
  const choice = (obj(data)?.['choices'] as unknown[] | undefined)?.[0];
  return str(obj(obj(choice)?.['delta'])?.['content']) ?? '';
}

// ── WebSocket ────────────────────────────────────────────────────────────────────────────────────

interface WsPending {
  call: PlannedCall;
  result: CallResult;
  sentAt: number;
  text: string;
  sawFirstChunk: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: (r: CallResult) => void;
}

/** One agent session on `/v1/ws`. */
export class WsAgent {
  readonly #pending = new Map<string, WsPending>();
  #prepared: { id: string; call: PlannedCall; frame: Buffer }[] = [];
  #wave = 0;

  private constructor(
    private readonly ws: WebSocket,
    readonly agentId: string,
    readonly binary: boolean,
  ) {
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('close', () => this.#failAll('socket closed'));
    ws.on('error', () => this.#failAll('socket error'));
  }

  /** Opens the session and waits for `welcome`. */
  static connect(url: string, agentId: string, binary: boolean, timeoutMs: number): Promise<WsAgent> {
    return new Promise((resolve, reject) => {
      // A zero mask: ws then skips masking (XOR over every byte), which would otherwise widen the
      // send loop; the server accepts any mask.
      const ws = new WebSocket(url, { perMessageDeflate: false, generateMask: (mask: Buffer) => mask.fill(0) });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`${agentId}: no welcome after ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`${agentId}: ${e.message}`));
      });
      ws.once('open', () => {
        const hello = { type: 'hello', agentId, agentType: 'seed-load' };
        ws.send(binary ? pack(hello) : JSON.stringify(hello));
      });
      const onWelcome = (data: WebSocket.RawData, isBinary: boolean): void => {
        const frame = decode(data, isBinary);
        if (frame?.['type'] === 'welcome') {
          clearTimeout(timer);
          ws.off('message', onWelcome);
          ws.removeAllListeners('error');
          resolve(new WsAgent(ws, agentId, binary));
        } else if (frame?.['type'] === 'error') {
          clearTimeout(timer);
          ws.terminate();
          reject(new Error(`${agentId}: hello refused: ${JSON.stringify(frame['error'])}`));
        }
      };
      ws.on('message', onWelcome);
    });
  }

  /** Encodes the frames of `calls` (one wave) ahead of the barrier. */
  prepare(wave: number, calls: PlannedCall[]): void {
    this.#wave = wave;
    this.#prepared = calls.map((call) => {
      const id = `w${wave}-c${call.callIndex + 1}`;
      const frame = { type: 'request', id, endpoint: 'chat.completions', params: call.body };
      return { id, call, frame: this.binary ? pack(frame) : Buffer.from(JSON.stringify(frame)) };
    });
  }

  /**
   * Sends prepared request `i` now; the promise settles with its answer, or after `timeoutMs` with
   * a timeout error (the request is then cancelled, as a client would).
   */
  fire(i: number, timeoutMs: number): Promise<CallResult> {
    const p = this.#prepared[i];
    if (!p) return Promise.reject(new Error(`${this.agentId}: nothing prepared at ${i}`));
    return new Promise<CallResult>((resolve) => {
      const pending: WsPending = {
        call: p.call,
        result: blank(p.call, this.#wave),
        sentAt: performance.now(),
        text: '',
        sawFirstChunk: false,
        timer: undefined,
        resolve,
      };
      this.#pending.set(p.id, pending);
      if (this.ws.readyState !== WebSocket.OPEN) {
        this.#finish(p.id, pending, 'socket not open');
        return;
      }
      pending.timer = setTimeout(() => {
        this.#finish(p.id, pending, `TimeoutError: no complete answer within ${timeoutMs} ms`);
        if (this.ws.readyState === WebSocket.OPEN) {
          const cancel = { type: 'cancel', id: p.id };
          this.ws.send(this.binary ? pack(cancel) : JSON.stringify(cancel));
        }
      }, timeoutMs);
      this.ws.send(p.frame, { binary: this.binary });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2000);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1000);
    });
  }

  #failAll(reason: string): void {
    for (const [id, p] of this.#pending) this.#finish(id, p, reason);
  }

  #finish(id: string, p: WsPending, error: string | undefined): void {
    if (!this.#pending.delete(id)) return;
    clearTimeout(p.timer);
    const r = p.result;
    r.doneAt = performance.now();
    r.latencyMs = r.doneAt - p.sentAt;
    r.error = error;
    r.ok = error === undefined;
    r.answerOk = r.ok && p.text.includes(p.call.tag);
    p.resolve(r);
  }

  #onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const frame = decode(data, isBinary);
    if (!frame) return;
    const id = str(frame['id']);
    if (id === undefined) return;
    const p = this.#pending.get(id);
    if (!p) return;
    const r = p.result;
    const meta = obj(frame['meta']);
    switch (frame['type']) {
      case 'response': {
        r.status = typeof frame['status'] === 'number' ? frame['status'] : undefined;
        r.cache = str(meta?.['cache']);
        r.dedupe = str(meta?.['dedupe']);
        p.text = messageContent(frame['data']);
        const ok = r.status !== undefined && r.status >= 200 && r.status < 300;
        this.#finish(id, p, ok ? (p.call.stream ? 'asked for a stream, got a response frame' : undefined) : `status ${r.status}`);
        return;
      }
      case 'chunk':
        if (!p.sawFirstChunk) {
          p.sawFirstChunk = true;
          r.firstChunkMs = performance.now() - p.sentAt;
          r.status = 200;
          r.cache = str(meta?.['cache']);
          r.dedupe = str(meta?.['dedupe']);
        }
        p.text += deltaContent(frame['data']);
        return;
      case 'done':
        this.#finish(id, p, p.sawFirstChunk ? undefined : 'done without a chunk');
        return;
      case 'error': {
        const e = obj(frame['error']);
        r.status = typeof e?.['status'] === 'number' ? e['status'] : r.status;
        this.#finish(id, p, `error frame ${str(e?.['code']) ?? '?'}: ${str(e?.['message']) ?? ''}`.slice(0, 300));
        return;
      }
      default:
        return;
    }
  }
}

function decode(data: WebSocket.RawData, isBinary: boolean): Json | undefined {
  try {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    return obj(isBinary ? unpack(buf) : JSON.parse(buf.toString('utf8')));
  } catch {
    return undefined;
  }
}

// ── HTTP ─────────────────────────────────────────────────────────────────────────────────────────

export interface PreparedHttp {
  call: PlannedCall;
  /** Value of the `x-seed-call` header, which ties undici's diagnostics events to the call. */
  tag: string;
  body: string;
  headers: Record<string, string>;
}

const TAG_HEADER = 'x-seed-call';

export function prepareHttp(wave: number, call: PlannedCall): PreparedHttp {
  const tag = `${wave}:${call.index}`;
  return {
    call,
    tag,
    body: JSON.stringify(call.body),
    headers: { 'content-type': 'application/json', 'x-agent-id': call.agentId, [TAG_HEADER]: tag },
  };
}

/**
 * When undici actually wrote each request's body (`undici:request:bodySent`): the HTTP calls of a
 * wave are issued in one synchronous loop but written to their sockets after it, so this is the
 * client's share of an HTTP call's latency.
 */
export function watchHttpWrites(): { writtenAt(tag: string): number | undefined; stop(): void } {
  const written = new Map<string, number>();
  const onBodySent = (message: unknown): void => {
    const headers = (obj(message)?.['request'] as { headers?: unknown } | undefined)?.headers;
    if (!Array.isArray(headers)) return;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === TAG_HEADER) {
        written.set(String(headers[i + 1]), performance.now());
        return;
      }
    }
  };
  subscribe('undici:request:bodySent', onBodySent);
  return {
    writtenAt: (tag) => written.get(tag),
    stop: () => unsubscribe('undici:request:bodySent', onBodySent),
  };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Parses an SSE body: the content of its chunks, whether it ended with [DONE], the first error event. */
function parseSse(text: string): { content: string; done: boolean; error: string | undefined } {
  let content = '';
  let done = false;
  let error: string | undefined;
  for (const event of text.split(/\r?\n\r?\n/)) {
    for (const line of event.split(/\r?\n/)) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      try {
        const v = JSON.parse(data) as unknown;
        const e = obj(v)?.['error'];
        if (e !== undefined && error === undefined) error = JSON.stringify(e).slice(0, 300);
        content += deltaContent(v);
      } catch {
        error ??= `stream event is not JSON: ${data.slice(0, 100)}`;
      }
    }
  }
  return { content, done, error };
}

/** Sends one prepared call on `pool` and reads its answer to the end. */
export async function httpCall(
  pool: Pool,
  wave: number,
  p: PreparedHttp,
  timeoutMs: number,
  writtenAt: (tag: string) => number | undefined,
): Promise<CallResult> {
  const r = blank(p.call, wave);
  const sentAt = performance.now();
  const wire = (): void => {
    const at = writtenAt(p.tag);
    if (at !== undefined) r.wireMs = at - sentAt;
  };
  try {
    const res = await pool.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: p.headers,
      body: p.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    wire();
    r.status = res.statusCode;
    r.cache = header(res.headers, 'x-cache');
    r.dedupe = header(res.headers, 'x-dedupe');
    const parts: Buffer[] = [];
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (r.firstChunkMs === undefined && p.call.stream && chunk.includes('data:')) r.firstChunkMs = performance.now() - sentAt;
      parts.push(chunk);
    }
    r.doneAt = performance.now();
    r.latencyMs = r.doneAt - sentAt;
    const text = Buffer.concat(parts).toString('utf8');
    if (res.statusCode < 200 || res.statusCode >= 300) {
      r.error = `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
      return r;
    }
    const type = header(res.headers, 'content-type') ?? '';
    if (p.call.stream) {
      if (!type.includes('text/event-stream')) {
        r.error = `asked for a stream, got ${type || 'no content type'}`;
        return r;
      }
      const sse = parseSse(text);
      if (sse.error !== undefined) r.error = `stream error event: ${sse.error}`;
      else if (!sse.done) r.error = 'stream ended without [DONE]';
      r.answerOk = sse.content.includes(p.call.tag);
    } else {
      try {
        r.answerOk = messageContent(JSON.parse(text)).includes(p.call.tag);
      } catch {
        r.error = `body is not JSON: ${text.slice(0, 100)}`;
      }
    }
    r.ok = r.error === undefined;
    if (!r.ok) r.answerOk = false;
    return r;
  } catch (e) {
    r.doneAt = performance.now();
    r.latencyMs = r.doneAt - sentAt;
    r.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return r;
  }
}
