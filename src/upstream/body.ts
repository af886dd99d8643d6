/**
 * The body of a backend's answer as the transport receives it from undici's `dispatch` (no Readable
 * stream): chunks are kept until the request path takes the body with `read`, then handed over as
 * they arrive. undici's `request()` API wraps every answer in a Readable whose 'data', 'end' and
 * 'close' each go through the stream machinery and `process.nextTick`; without it the pass-through
 * allocates 10% less per request and streams at 0.974× the CPU (bench:ab; non-streamed answers cost
 * the same), as the bare proxy it is compared with does.
 *
 * A body is read once. Whoever holds an answer reads it (`read`, `readAll`, `readText`), drops it
 * (`discard`: read to its end, so the connection goes back to the pool) or abandons it (`destroy`:
 * the call is aborted). Until it is read, at most UNREAD_HIGH_WATER bytes are held; then the upstream
 * socket is paused until it is.
 */

/** What reads a body: each chunk as it arrives, then its end or its failure (one of the two, once). */
export interface BodyReader {
  data(chunk: Buffer): void;
  end(): void;
  error(error: Error): void;
}

/** The transport's hold on the call (undici's DispatchController). */
export interface BodyControl {
  pause(): void;
  resume(): void;
  abort(reason: Error): void;
}

/** Bytes held for a body nobody reads yet before its upstream socket is paused. */
export const UNREAD_HIGH_WATER = 64 * 1024;

type State = 'open' | 'ended' | 'failed' | 'destroyed';

export class UpstreamBody {
  #state: State = 'open';
  #error: Error | undefined;
  #reader: BodyReader | undefined;
  #unread: Buffer[] | undefined;
  #unreadBytes = 0;
  /** The socket is paused because nobody reads yet. */
  #held = false;
  /** The reader asked for a pause (a slow client). */
  #paused = false;

  constructor(private readonly control: BodyControl) {}

  // ── the transport's side ───────────────────────────────────────────────────

  /** A chunk arrived. */
  push(chunk: Buffer): void {
    if (this.#state !== 'open') return;
    const reader = this.#reader;
    if (reader !== undefined) {
      reader.data(chunk);
      return;
    }
    (this.#unread ??= []).push(chunk);
    this.#unreadBytes += chunk.length;
    if (!this.#held && this.#unreadBytes >= UNREAD_HIGH_WATER) {
      this.#held = true;
      this.control.pause();
    }
  }

  /** The body is complete. */
  end(): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    this.#reader?.end();
  }

  /** The call failed before the body was complete. */
  fail(error: Error): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#error = error;
    this.#reader?.error(error);
  }

  // ── the reader's side ──────────────────────────────────────────────────────

  /**
   * Takes the body: what arrived so far at once, the rest as it comes, then `end` or `error`.
   * A body abandoned before (`destroy`) reads as an error.
   */
  read(reader: BodyReader): void {
    if (this.#reader !== undefined) throw new Error('An upstream body is read once.');
    this.#reader = reader;
    const unread = this.#unread;
    this.#unread = undefined;
    this.#unreadBytes = 0;
    if (unread !== undefined) {
      for (const chunk of unread) {
        reader.data(chunk);
        if (this.#reader !== reader) return; // abandoned by the reader meanwhile
      }
    }
    switch (this.#state) {
      case 'open':
        if (this.#held) {
          this.#held = false;
          if (!this.#paused) this.control.resume();
        }
        return;
      case 'ended':
        reader.end();
        return;
      case 'failed':
        reader.error(this.#error!);
        return;
      case 'destroyed':
        reader.error(prematureClose());
    }
  }

  /** Stops the upstream socket until `resume` (chunks already received are still delivered). */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this.#state === 'open') this.control.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#state === 'open' && !this.#held) this.control.resume();
  }

  /** Reads the body to its end and drops it: the connection goes back to the pool. */
  discard(): void {
    if (this.#reader !== undefined) return;
    this.read(DROP);
  }

  /** Abandons the body: the call is aborted and the reader hears nothing more. */
  destroy(): void {
    const open = this.#state === 'open';
    this.#state = 'destroyed';
    this.#reader = undefined;
    this.#unread = undefined;
    if (open) this.control.abort(new DOMException('The answer was abandoned before its end.', 'AbortError'));
  }
}

const DROP: BodyReader = { data() {}, end() {}, error() {} };

function prematureClose(): Error {
  return Object.assign(new Error('The answer closed before its end.'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/** The whole body (small answers: JSON, errors, model lists). Rejects with the call's failure. */
export function readAll(body: UpstreamBody): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.read({
      data(chunk) {
        chunks.push(chunk);
        size += chunk.length;
      },
      end() {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      },
      error: reject,
    });
  });
}

/** The body as text, keeping at most `limit` bytes of it (the rest is read and dropped). */
export function readText(body: UpstreamBody, limit: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.read({
      data(chunk) {
        if (size < limit) chunks.push(chunk.subarray(0, limit - size));
        size += chunk.length;
      },
      end() {
        resolve(Buffer.concat(chunks).toString('utf8'));
      },
      error: reject,
    });
  });
}
