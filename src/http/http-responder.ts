import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { OptimizerError } from '../errors/registry.js';
import type { JsonAnswer, Responder, ResponseMeta } from '../gateway/types.js';
import { sendHttpError, sseErrorEvent } from './error-response.js';

function metaHeaders(meta: ResponseMeta): Record<string, string> {
  const headers: Record<string, string> = {
    'x-request-id': meta.requestId,
    'x-backend': meta.backend,
    'x-model': meta.model,
    'x-route-reason': meta.routeReason,
    'x-cache': meta.cache,
  };
  if (meta.dedupe !== undefined) headers['x-dedupe'] = meta.dedupe;
  return headers;
}

/** Writes a gateway answer as an HTTP response: JSON, or SSE ending in `data: [DONE]`. */
export class HttpResponder implements Responder {
  constructor(
    private readonly res: ServerResponse,
    private readonly requestId: string,
  ) {}

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  json(status: number, { body }: JsonAnswer, meta: ResponseMeta): void {
    const headers = metaHeaders(meta);
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
    this.res.writeHead(status, headers);
    this.res.end(body);
  }

  streamStart(meta: ResponseMeta): void {
    const headers = metaHeaders(meta);
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
    headers['x-accel-buffering'] = 'no';
    this.res.writeHead(200, headers);
  }

  streamChunk(data: string): boolean {
    return this.res.write(`data: ${data}\n\n`);
  }

  async waitDrain(): Promise<void> {
    if (this.closed) return;
    await Promise.race([once(this.res, 'drain'), once(this.res, 'close')]);
  }

  streamEnd(): void {
    this.res.end('data: [DONE]\n\n');
  }

  error(error: OptimizerError): void {
    if (this.closed) return;
    if (this.res.headersSent) {
      // The stream has started: say so explicitly, never end as if it were complete.
      this.res.end(sseErrorEvent(error, this.requestId));
      return;
    }
    sendHttpError(this.res, error, this.requestId);
  }
}
