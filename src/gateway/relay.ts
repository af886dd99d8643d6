import type { Readable } from 'node:stream';
import { OptimizerError } from '../errors/registry.js';
import { createSseParser, isDoneSentinel } from '../providers/sse.js';
import { upstreamFailure } from '../upstream/errors.js';
import type { UpstreamResponse } from '../upstream/types.js';
import type { Responder, ResponseMeta } from './types.js';
import type { AnswerUsage } from './usage.js';

/**
 * Relaying a backend's answer to a Responder: a complete JSON body as it came, or an
 * SSE stream event by event. Both reject with an OptimizerError for what fails before
 * the client has seen anything (so the caller may still retry or fail over).
 */

/** Reads a whole (small) body as text, keeping at most `limit` bytes. */
export async function readText(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a complete JSON answer and passes it on as it came (noting its tokens in `usage`, when given). */
export async function relayJson(upstream: UpstreamResponse, res: Responder, meta: ResponseMeta, usage?: AnswerUsage): Promise<void> {
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
  usage?.json(value);
  res.json(upstream.status, body, value, meta);
}

/**
 * Relays an SSE stream event by event as it arrives. The client's stream starts only
 * with the first real chunk, so a backend that fails before it can still be answered
 * with a plain error (and, later, failed over). After it, a failure is sent as an
 * explicit in-stream error, never as a clean end. `usage`, when given, notes each chunk's
 * content and the usage chunk (for metrics).
 */
export function relayStream(
  upstream: UpstreamResponse,
  res: Responder,
  meta: ResponseMeta,
  signal: AbortSignal,
  usage?: AnswerUsage,
): Promise<OptimizerError | undefined> {
  const contentType = String(upstream.headers['content-type'] ?? '');
  if (!contentType.includes('text/event-stream')) {
    upstream.body.resume();
    return Promise.reject(
      new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${upstream.backendId} answered a streaming request with ${contentType || 'no content type'}.`, {
        details: { backend: upstream.backendId },
      }),
    );
  }
  return new Promise<OptimizerError | undefined>((resolve, reject) => {
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
        resolve(error);
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
        resolve(undefined);
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(event.data);
      } catch {
        fail(new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${upstream.backendId} sent a stream event that is not JSON.`, { details: { backend: upstream.backendId } }));
        return;
      }
      const chunk = value as {
        error?: { message?: unknown };
        choices?: { finish_reason?: unknown; delta?: { content?: unknown; tool_calls?: unknown } }[];
        usage?: unknown;
      };
      if (chunk.error !== undefined) {
        const message = typeof chunk.error?.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error);
        fail(new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${upstream.backendId} failed mid-stream: ${message}`, { details: { backend: upstream.backendId } }));
        return;
      }
      if (chunk.choices?.[0]?.finish_reason) sawFinishReason = true;
      usage?.chunk(chunk);
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
        resolve(undefined);
        return;
      }
      fail(new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${upstream.backendId} ended the stream before it was complete.`, { details: { backend: upstream.backendId } }));
    });
    body.on('error', (error) => {
      if (finished) return;
      if (signal.aborted) {
        finished = true;
        if (!started) reject(new OptimizerError('CANCELLED', 'The request was cancelled.'));
        else resolve(undefined);
        return;
      }
      const failure = upstreamFailure(error, upstream.backendId);
      fail(started ? new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${upstream.backendId} broke off the stream: ${failure.message}`, { details: { backend: upstream.backendId, cause: failure.code } }) : failure);
    });
  });
}
