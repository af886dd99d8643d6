import { OptimizerError, toOptimizerError } from '../errors/registry.js';
import type { StreamFraming, StreamTranslator } from '../providers/adapter.js';
import { createNdjsonParser } from '../providers/ndjson.js';
import { OpenAIStreamTranslator } from '../providers/openai-stream.js';
import { createSseParser, type SseEvent } from '../providers/sse.js';
import { upstreamFailure } from '../upstream/errors.js';
import type { UpstreamResponse } from '../upstream/types.js';
import { readAll } from '../upstream/body.js';
import type { Responder, ResponseMeta } from './types.js';
import type { AnswerUsage } from './usage.js';
import type { Cancellation } from './cancel-signal.js';

/**
 * Relaying a backend's answer to a Responder: a complete JSON body as it came (or as its
 * adapter translated it), or a stream event by event. Both reject with an OptimizerError for what fails before
 * the client has seen anything (so the caller may still retry or fail over).
 */

/**
 * Reads a complete JSON answer and passes it on as it came, or, when `translate` is given and
 * returns an object, as that object (a native provider's answer in OpenAI's format, or a quirk's
 * fix). Leading whitespace (DeepSeek's keep-alive blank lines before the JSON) is dropped.
 * `usage`, when given, notes the answer's tokens (for metrics).
 */
export async function relayJson(
  upstream: UpstreamResponse,
  res: Responder,
  meta: ResponseMeta,
  translate?: (value: unknown) => unknown,
  usage?: AnswerUsage,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readAll(upstream.body);
  } catch (error) {
    throw upstreamFailure(error, upstream.backendId);
  }
  if (body.length > 0 && isJsonWhitespace(body[0]!)) body = body.subarray(leadingWhitespace(body));
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${upstream.backendId} answered with a body that is not JSON.`, {
      details: { backend: upstream.backendId },
    });
  }
  if (translate !== undefined) {
    const translated = translate(value);
    if (translated !== undefined) {
      usage?.json(translated);
      res.json(upstream.status, { body: Buffer.from(JSON.stringify(translated)), value: translated }, meta);
      return;
    }
  }
  usage?.json(value);
  res.json(upstream.status, { body, value }, meta);
}

function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function leadingWhitespace(body: Buffer): number {
  let i = 0;
  while (i < body.length && isJsonWhitespace(body[i]!)) i++;
  return i;
}

/** What a stream's framing looks like on the wire. */
const FRAMING_TYPES: Record<StreamFraming, readonly string[]> = {
  sse: ['text/event-stream'],
  // Ollama sends application/x-ndjson; some proxies relabel it application/json.
  ndjson: ['ndjson', 'application/json'],
};

/**
 * Relays a stream event by event as it arrives, through `translator` (the OpenAI-compatible
 * pass-through by default, or a native provider's translation into `chat.completion.chunk`s).
 * The client's stream starts only with the first real chunk, so a backend that fails before it
 * can still be answered with a plain error (and, later, failed over). After it, a failure is
 * sent as an explicit in-stream error, never as a clean end. `usage`, when given, notes each
 * chunk's content and the usage chunk (for metrics).
 */
export function relayStream(
  upstream: UpstreamResponse,
  res: Responder,
  meta: ResponseMeta,
  signal: Cancellation,
  translator: StreamTranslator = new OpenAIStreamTranslator(upstream.backendId),
  framing: StreamFraming = 'sse',
  usage?: AnswerUsage,
): Promise<OptimizerError | undefined> {
  const contentType = String(upstream.headers['content-type'] ?? '');
  if (!FRAMING_TYPES[framing].some((type) => contentType.includes(type))) {
    upstream.body.discard();
    return Promise.reject(
      new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${upstream.backendId} answered a streaming request with ${contentType || 'no content type'}.`, {
        details: { backend: upstream.backendId },
      }),
    );
  }
  return new Promise<OptimizerError | undefined>((resolve, reject) => {
    const body = upstream.body;
    let started = false;
    let finished = false; // complete, or the stream was failed

    const fail = (error: OptimizerError) => {
      if (finished) return;
      finished = true;
      body.destroy();
      if (!started) reject(error);
      else {
        // Once the client has chunks, any failure is the stream's (never a retryable-looking 429).
        const inStream =
          error.code === 'UPSTREAM_STREAM_ERROR' || error.code === 'UPSTREAM_BAD_RESPONSE'
            ? error
            : new OptimizerError('UPSTREAM_STREAM_ERROR', error.message, { details: { backend: upstream.backendId, cause: error.code } });
        if (!res.closed) res.error(inStream);
        resolve(inStream);
      }
    };
    const start = () => {
      if (started) return;
      started = true;
      res.streamStart(meta);
    };
    const complete = () => {
      start();
      finished = true;
      res.streamEnd();
      resolve(undefined);
    };
    const emit = (data: string, value: unknown) => {
      start();
      usage?.chunk(value as Parameters<AnswerUsage['chunk']>[0]);
      if (!res.streamChunk(data, value)) {
        body.pause();
        void res.waitDrain().then(() => body.resume());
      }
    };
    const onFrame = (event: SseEvent) => {
      if (finished) return;
      let done: boolean;
      try {
        done = translator.frame(event, emit);
      } catch (error) {
        fail(toOptimizerError(error));
        return;
      }
      if (done && !finished) complete();
    };

    const parser = framing === 'sse' ? createSseParser(onFrame) : createNdjsonParser((line) => onFrame({ event: undefined, data: line }));
    body.read({
      data: (chunk) => parser.push(chunk),
      end: () => {
        parser.end();
        if (finished) return;
        let clean: boolean;
        try {
          clean = translator.end(emit);
        } catch (error) {
          fail(toOptimizerError(error));
          return;
        }
        if (clean) {
          complete();
          return;
        }
        fail(new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${upstream.backendId} ended the stream before it was complete.`, { details: { backend: upstream.backendId } }));
      },
      error: (error) => {
        if (finished) return;
        if (signal.aborted) {
          finished = true;
          if (!started) reject(new OptimizerError('CANCELLED', 'The request was cancelled.'));
          else resolve(undefined);
          return;
        }
        const failure = upstreamFailure(error, upstream.backendId);
        fail(started ? new OptimizerError('UPSTREAM_STREAM_ERROR', `Backend ${upstream.backendId} broke off the stream: ${failure.message}`, { details: { backend: upstream.backendId, cause: failure.code } }) : failure);
      },
    });
  });
}
