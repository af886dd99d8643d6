import type { Readable } from 'node:stream';
import type { OptimizerSystem } from '../../actors/system.js';
import { callBackend } from '../../actors/backend.js';
import { resolveVia } from '../../actors/router.js';
import { sessionFor, tellSession } from '../../actors/session.js';
import type { OptimizerConfig } from '../config/types.js';
import { OptimizerError, toOptimizerError } from '../errors/registry.js';
import type { Logger } from '../log/logger.js';
import { createSseParser, isDoneSentinel } from '../providers/sse.js';
import type { EventBus } from '../telemetry/event-bus.js';
import { upstreamFailure } from '../upstream/errors.js';
import { upstreamHttpError } from '../upstream/http-error.js';
import type { UpstreamResponse } from '../upstream/types.js';
import type { GatewayRequest, Responder, ResponseMeta } from './types.js';

/** Largest error body read from a backend (the rest is dropped). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const UPSTREAM_PATH = { 'chat.completions': '/chat/completions', embeddings: '/embeddings' } as const;

export interface GatewayDeps {
  system: OptimizerSystem;
  config: OptimizerConfig;
  logger: Logger;
  bus: EventBus;
}

/**
 * The request path shared by the HTTP and WebSocket doors (DESIGN.md §2):
 * session → route → backend call → relay the answer. Cache, dedupe and limits plug in
 * between the session and the route; failover and retries around the backend call.
 */
export class Gateway {
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: GatewayDeps) {}

  /** Requests being answered right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Answers one request through `res`. Never throws: every failure becomes `res.error`. */
  async handle(req: GatewayRequest, res: Responder): Promise<void> {
    const { system, config, bus } = this.deps;
    this.#inFlight++;
    let session;
    let outcome = 'ok';
    try {
      session = sessionFor(system, req.agentId, req.agentType, config.sessions);
      tellSession(session, { type: 'session.request.started' });
      bus.publish('request.received', { requestId: req.requestId, agentId: req.agentId, endpoint: req.endpoint, stream: req.stream });

      const route = resolveVia(system, { model: req.body.model as string | undefined, pinnedBackend: req.hints.backend });
      const meta: ResponseMeta = {
        requestId: req.requestId,
        backend: route.target.backendId,
        model: route.target.name,
        routeReason: route.reason,
        cache: 'bypass',
      };
      const upstream = await callBackend(system, route.target.backendId, {
        method: 'POST',
        path: UPSTREAM_PATH[req.endpoint],
        body: JSON.stringify({ ...req.body, model: route.target.model }),
        signal: req.signal,
        stream: req.stream,
      });
      if (upstream.status >= 400) {
        const text = await readText(upstream.body, MAX_ERROR_BODY_BYTES);
        throw upstreamHttpError(upstream.status, upstream.headers, text, upstream.backendId);
      }
      if (req.stream) await relayStream(upstream, res, meta, req.signal);
      else await relayJson(upstream, res, meta);
    } catch (error) {
      const failure = req.signal.aborted ? new OptimizerError('CANCELLED', 'The request was cancelled.') : toOptimizerError(error);
      outcome = failure.code;
      if (failure.code === 'INTERNAL') this.deps.logger.error({ err: failure.cause, requestId: req.requestId }, 'request failed inside the optimizer');
      if (!res.closed) res.error(failure);
    } finally {
      tellSession(session, { type: 'session.request.finished' });
      bus.publish('request.completed', { requestId: req.requestId, agentId: req.agentId, outcome });
      if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
        for (const wake of this.#idleWaiters.splice(0)) wake();
      }
    }
  }
}

/** Reads a whole (small) body as text, keeping at most `limit` bytes. */
async function readText(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a complete JSON answer and passes it on as it came. */
async function relayJson(upstream: UpstreamResponse, res: Responder, meta: ResponseMeta): Promise<void> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of upstream.body as AsyncIterable<Buffer>) chunks.push(chunk);
  } catch (error) {
    throw upstreamFailure(error, upstream.backendId);
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${upstream.backendId} answered with a body that is not JSON.`, {
      details: { backend: upstream.backendId },
    });
  }
  res.json(upstream.status, body, value, meta);
}

/**
 * Relays an SSE stream event by event as it arrives. The client's stream starts only
 * with the first real chunk, so a backend that fails before it can still be answered
 * with a plain error (and, later, failed over). After it, a failure is sent as an
 * explicit in-stream error, never as a clean end.
 */
function relayStream(upstream: UpstreamResponse, res: Responder, meta: ResponseMeta, signal: AbortSignal): Promise<void> {
  const contentType = String(upstream.headers['content-type'] ?? '');
  if (!contentType.includes('text/event-stream')) {
    upstream.body.resume();
    return Promise.reject(
      new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${upstream.backendId} answered a streaming request with ${contentType || 'no content type'}.`, {
        details: { backend: upstream.backendId },
      }),
    );
  }
  return new Promise<void>((resolve, reject) => {
    const body = upstream.body;
    let started = false;
    let finished = false; // [DONE] seen, or the stream was failed
    let sawFinishReason = false;

    const fail = (error: OptimizerError) => {
      if (finished) return;
      finished = true;
      body.destroy();
      if (!started) reject(error);
      else {
        if (!res.closed) res.error(error);
        resolve();
      }
    };
    const start = () => {
      if (started) return;
      started = true;
      res.streamStart(meta);
    };

    const parser = createSseParser((event) => {
      if (finished) return;
      if (isDoneSentinel(event.data)) {
        start();
        finished = true;
        res.streamEnd();
        resolve();
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(event.data);
      } catch {
        fail(new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${upstream.backendId} sent a stream event that is not JSON.`, { details: { backend: upstream.backendId } }));
        return;
      }
      const chunk = value as { error?: { message?: unknown }; choices?: { finish_reason?: unknown }[] };
      if (chunk.error !== undefined) {
        const message = typeof chunk.error?.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error);
        fail(new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${upstream.backendId} failed mid-stream: ${message}`, { details: { backend: upstream.backendId } }));
        return;
      }
      if (chunk.choices?.[0]?.finish_reason) sawFinishReason = true;
      start();
      if (!res.streamChunk(event.data, value)) {
        body.pause();
        void res.waitDrain().then(() => body.resume());
      }
    });

    body.on('data', (chunk: Buffer) => parser.push(chunk));
    body.on('end', () => {
      parser.end();
      if (finished) return;
      if (sawFinishReason) {
        // Some OpenAI-compatible servers omit [DONE] after the final chunk: a clean end.
        finished = true;
        res.streamEnd();
        resolve();
        return;
      }
      fail(new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${upstream.backendId} ended the stream before it was complete.`, { details: { backend: upstream.backendId } }));
    });
    body.on('error', (error) => {
      if (finished) return;
      if (signal.aborted) {
        finished = true;
        if (!started) reject(new OptimizerError('CANCELLED', 'The request was cancelled.'));
        else resolve();
        return;
      }
      const failure = upstreamFailure(error, upstream.backendId);
      fail(started ? new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${upstream.backendId} broke off the stream: ${failure.message}`, { details: { backend: upstream.backendId, cause: failure.code } }) : failure);
    });
  });
}
