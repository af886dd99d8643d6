/**
 * A closed-loop load on WebSocket sessions (`/v1/ws`), the way agents hold them: `sessions` sessions,
 * `concurrency` requests in flight in all (spread over the sessions as evenly as they go), each
 * session sending its next `request` frame as soon as an answer (`response` or `error`) arrives, for
 * `durationMs`. JSON text frames, non-streaming chat completions, bodies as {@link chatBody} makes
 * them (unique, unique and deterministic, or one fixed body). For bench:ab (`AB_WS=1`): the CPU a
 * request costs on the WebSocket path, which wrk cannot drive.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { chatBody, LatencyRecorder, summarize, type BodyMode, type Percentiles } from './load.js';

export interface WsLoadOptions {
  /** `ws://127.0.0.1:<port>/v1/ws`. */
  url: string;
  sessions: number;
  /** Requests in flight in all. */
  concurrency: number;
  durationMs: number;
  /** Stop after this many answers even if time remains (also the latency array's size). */
  maxRequests: number;
  /** Distinguishes this run's bodies from every other run's. */
  nonce: string;
  bodyMode?: BodyMode | undefined;
  /** The `model` of every request (default the bench's, `up/test-model`). */
  model?: string | undefined;
  /** Give up on a session that has no `welcome` after this long. */
  connectTimeoutMs?: number | undefined;
}

export interface WsLoadResult {
  sessions: number;
  concurrency: number;
  durationS: number;
  /** Answers received in the measured time (responses and error frames). */
  requests: number;
  /** `response` frames. */
  ok: number;
  /** `error` frames, by code. */
  errorCodes: Record<string, number>;
  firstError: string | undefined;
  rps: number;
  /** Send → `response` frame, ms. */
  latencyMs: Percentiles;
  /** Never a stream here (bench:ab reads it for streams only). */
  ttfbMs: undefined;
}

interface Answer {
  type?: unknown;
  id?: unknown;
  error?: { code?: unknown; message?: unknown };
}

/** Runs the load and resolves with what it measured; every session is closed before it resolves. */
export async function runWsLoad(opts: WsLoadOptions): Promise<WsLoadResult> {
  const sessions = Math.max(1, Math.min(opts.sessions, opts.concurrency));
  const mode = opts.bodyMode ?? 'unique';
  const latencies = new LatencyRecorder(opts.maxRequests);
  const errorCodes: Record<string, number> = {};
  let firstError: string | undefined;
  let ok = 0;
  let answered = 0;
  let counter = 0;
  let stopping = false;
  let started = 0;

  const open = (index: number, inFlight: number): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(opts.url, { perMessageDeflate: false });
      const sentAt = new Map<string, number>();
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`session ${index}: no welcome after ${opts.connectTimeoutMs ?? 5000} ms`));
      }, opts.connectTimeoutMs ?? 5000);
      const send = () => {
        if (stopping) return;
        const n = ++counter;
        const id = `r${n}`;
        sentAt.set(id, performance.now());
        // The chat body is a JSON object: it goes into the frame as `params` without a parse.
        ws.send(`{"type":"request","id":"${id}","endpoint":"chat.completions","params":${chatBody(opts.nonce, n, false, mode, opts.model)}}`);
      };
      ws.on('message', (data: WebSocket.RawData) => {
        const frame = JSON.parse(data.toString()) as Answer;
        if (frame.type === 'welcome') {
          clearTimeout(timer);
          // The session's share of the requests in flight (answers before every session is open are not counted).
          for (let i = 0; i < inFlight; i++) send();
          resolve(ws);
          return;
        }
        if (frame.type !== 'response' && frame.type !== 'error') return;
        const id = typeof frame.id === 'string' ? frame.id : '';
        const at = sentAt.get(id);
        sentAt.delete(id);
        if (started > 0 && !stopping) {
          answered++;
          if (frame.type === 'response') {
            ok++;
            if (at !== undefined) latencies.record(performance.now() - at);
          } else {
            const code = typeof frame.error?.code === 'string' ? frame.error.code : 'unknown';
            errorCodes[code] = (errorCodes[code] ?? 0) + 1;
            firstError ??= `${code}: ${String(frame.error?.message ?? '')}`;
          }
          if (answered >= opts.maxRequests) stopping = true;
        }
        send();
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', agentId: `ab-ws-${index}` })));
      ws.once('error', (error) => {
        clearTimeout(timer);
        firstError ??= error.message;
        reject(error);
      });
    });

  const base = Math.floor(opts.concurrency / sessions);
  const extra = opts.concurrency % sessions;
  const sockets = await Promise.all(Array.from({ length: sessions }, (_, i) => open(i, base + (i < extra ? 1 : 0))));
  started = performance.now();
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      clearInterval(check);
      resolve();
    };
    const timer = setTimeout(done, opts.durationMs);
    const check = setInterval(() => {
      if (stopping) done();
    }, 20);
  });
  stopping = true;
  const durationS = (performance.now() - started) / 1000;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1000);
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 1000).unref();
        }),
    ),
  );
  return {
    sessions,
    concurrency: opts.concurrency,
    durationS,
    requests: answered,
    ok,
    errorCodes,
    firstError,
    rps: answered / durationS,
    latencyMs: summarize(latencies),
    ttfbMs: undefined,
  };
}
