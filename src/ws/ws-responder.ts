import type { WebSocket } from 'ws';
import type { OptimizerError } from '../errors/registry.js';
import type { JsonAnswer, Responder, ResponseMeta } from '../gateway/types.js';
import { errorFrame } from './error-frame.js';
import { encodeFrame, type Encoding } from './protocol.js';

/** Above this many buffered bytes a stream pauses its upstream until the socket drains. */
const HIGH_WATER_BYTES = 1024 * 1024;
const DRAIN_POLL_MS = 5;

/**
 * Writes one request's answer as frames on its session's socket: `response`, or
 * `chunk`… then `done`, or `error`. JSON frames splice the upstream's JSON text in
 * as it came instead of re-serialising it.
 */
export class WsResponder implements Responder {
  #meta: ResponseMeta | undefined;
  #finished = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly id: string,
    private readonly encoding: Encoding,
    private readonly onFinished: () => void,
  ) {}

  get closed(): boolean {
    return this.#finished || this.ws.readyState !== this.ws.OPEN;
  }

  json(status: number, answer: JsonAnswer, meta: ResponseMeta): void {
    if (this.encoding === 'json') {
      this.#sendRaw(`{"type":"response","id":${JSON.stringify(this.id)},"status":${status},"meta":${JSON.stringify(meta)},"data":${answer.body.toString('utf8')}}`);
    } else {
      this.#send({ type: 'response', id: this.id, status, meta, data: answer.value });
    }
    this.#finish();
  }

  streamStart(meta: ResponseMeta): void {
    this.#meta = meta;
  }

  streamChunk(data: string, value: unknown): boolean {
    const first = this.#meta;
    this.#meta = undefined;
    if (this.encoding === 'json') {
      const meta = first ? `,"meta":${JSON.stringify(first)}` : '';
      this.#sendRaw(`{"type":"chunk","id":${JSON.stringify(this.id)}${meta},"data":${data}}`);
    } else {
      this.#send(first ? { type: 'chunk', id: this.id, meta: first, data: value } : { type: 'chunk', id: this.id, data: value });
    }
    return this.ws.bufferedAmount < HIGH_WATER_BYTES;
  }

  async waitDrain(): Promise<void> {
    while (!this.closed && this.ws.bufferedAmount >= HIGH_WATER_BYTES) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  streamEnd(): void {
    this.#send({ type: 'done', id: this.id });
    this.#finish();
  }

  error(error: OptimizerError): void {
    this.#send(errorFrame(error, this.id) as unknown as Record<string, unknown>);
    this.#finish();
  }

  #send(frame: Record<string, unknown>): void {
    if (this.closed) return;
    this.ws.send(encodeFrame(frame, this.encoding));
  }

  #sendRaw(text: string): void {
    if (this.closed) return;
    this.ws.send(text);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.onFinished();
  }
}
