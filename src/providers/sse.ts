/**
 * Incremental Server-Sent Events parser for upstream streams (OpenAI-compatible `data:` streams,
 * Anthropic's `event:` streams, DeepSeek's `: keep-alive` and OpenRouter's `: OPENROUTER PROCESSING`
 * comments). It follows the WHATWG "event stream interpretation" rules:
 *
 * - a line ends in `\n`, `\r\n` or `\r`; a `\r\n` split across two chunks is one line end;
 * - a line starting with `:` is a comment and is skipped;
 * - `field: value` (one leading space of the value is removed), `field` alone means an empty value;
 * - `data` lines are joined with `\n`; `event` sets the event name; `id` sets the last event id (it
 *   persists across events, as the spec says; an `id` containing NUL is ignored); `retry` and unknown
 *   fields are ignored (the gateway never reconnects an upstream stream);
 * - a blank line dispatches the pending event, but only if it had at least one `data` line;
 * - bytes are decoded as UTF-8 with a streaming TextDecoder, so a character split across chunks is
 *   decoded correctly, a leading BOM is dropped and invalid bytes become U+FFFD.
 *
 * At the end of the input the spec discards an event that was not terminated by a blank line, and
 * so does {@link SseParser.end}: a stream cut in the middle of an event yields nothing for that
 * event. Callers that need to know a stream was cut must look at what they received (for
 * OpenAI-compatible streams: no `[DONE]`, no `finish_reason`), not at this parser.
 *
 * It runs on the hot path of every streamed response: it scans with `indexOf`, never builds strings
 * a character at a time, and keeps an unfinished line as a list of pieces so that a long line that
 * arrives in many small chunks is joined once (linear, not quadratic).
 */

/** One dispatched event. `event` is undefined when the stream named none (the spec's "message"). */
export interface SseEvent {
  event: string | undefined;
  data: string;
  /** The last event id seen on the stream, when one was set (and not reset by an empty `id:`). */
  id?: string;
}

export interface SseParser {
  /**
   * Feeds the next piece of the stream. Bytes are decoded as streaming UTF-8. Strings are taken as
   * already decoded; do not mix strings and bytes in the middle of a multi-byte character.
   * Events complete in this chunk are passed to `onEvent` synchronously, in order; if `onEvent`
   * throws, the error propagates and the rest of the chunk is dropped.
   */
  push(chunk: Uint8Array | string): void;
  /**
   * Marks the end of the stream: flushes the decoder, then discards any unterminated line and any
   * event not closed by a blank line (spec behaviour). The parser is reset and may be reused.
   */
  end(): void;
}

const LF = 10;
const SPACE = 32;

/** Creates a parser that calls `onEvent` for each complete event, in stream order. */
export function createSseParser(onEvent: (event: SseEvent) => void): SseParser {
  let decoder = new TextDecoder('utf-8');
  /** Pieces of the current, not yet terminated line. */
  let pending: string[] = [];
  /** The previous chunk ended in `\r`: a `\n` at the start of the next one belongs to it. */
  let skipLeadingLf = false;
  let data = '';
  let hasData = false;
  let eventName: string | undefined;
  let lastEventId = '';

  function dispatch(): void {
    if (!hasData) {
      eventName = undefined;
      return;
    }
    const event: SseEvent =
      lastEventId === '' ? { event: eventName, data } : { event: eventName, data, id: lastEventId };
    data = '';
    hasData = false;
    eventName = undefined;
    onEvent(event);
  }

  function processLine(line: string): void {
    const length = line.length;
    if (length === 0) {
      dispatch();
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return; // comment
    let value: string;
    if (colon === -1) {
      value = '';
    } else {
      const start = line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
      value = start >= length ? '' : line.slice(start);
    }
    const nameLength = colon === -1 ? length : colon;
    // Compare the field name in place: no slice for the name on the hot path.
    if (nameLength === 4 && line.startsWith('data')) {
      if (hasData) {
        data += '\n' + value;
      } else {
        data = value;
        hasData = true;
      }
    } else if (nameLength === 5 && line.startsWith('event')) {
      eventName = value === '' ? undefined : value;
    } else if (nameLength === 2 && line.startsWith('id')) {
      if (value.indexOf('\0') === -1) lastEventId = value;
    }
    // `retry` and unknown fields: ignored.
  }

  function feed(text: string): void {
    const length = text.length;
    if (length === 0) return;
    let start = 0;
    if (skipLeadingLf) {
      skipLeadingLf = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    let lf = text.indexOf('\n', start);
    // One scan per chunk for each terminator; most streams have no `\r` at all.
    let cr = text.indexOf('\r', start);
    while (lf !== -1 || cr !== -1) {
      let lineEnd: number;
      let next: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        lineEnd = lf;
        next = lf + 1;
        lf = text.indexOf('\n', next);
      } else {
        lineEnd = cr;
        if (cr + 1 < length) {
          next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        } else {
          next = cr + 1;
          skipLeadingLf = true;
        }
        cr = text.indexOf('\r', next);
        if (lf !== -1 && lf < next) lf = text.indexOf('\n', next);
      }
      let line: string;
      if (pending.length > 0) {
        pending.push(text.slice(start, lineEnd));
        line = pending.join('');
        pending = [];
      } else {
        line = text.slice(start, lineEnd);
      }
      start = next;
      processLine(line);
    }
    if (start < length) pending.push(start === 0 ? text : text.slice(start));
  }

  return {
    push(chunk: Uint8Array | string): void {
      feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    },
    end(): void {
      const tail = decoder.decode();
      if (tail.length > 0) feed(tail);
      // Spec: an unterminated line and an event without its blank line are discarded at EOF.
      decoder = new TextDecoder('utf-8');
      pending = [];
      skipLeadingLf = false;
      data = '';
      hasData = false;
      eventName = undefined;
      lastEventId = '';
    },
  };
}

/** Parses a complete SSE body at once (tests, small bodies); same rules as {@link createSseParser}. */
export function parseSse(text: string | Uint8Array): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  parser.push(text);
  parser.end();
  return events;
}

/** True for the `[DONE]` sentinel that ends OpenAI-compatible streams (surrounding spaces tolerated). */
export function isDoneSentinel(data: string): boolean {
  return data === '[DONE]' || (data.length > 6 && data.length < 64 && data.trim() === '[DONE]');
}
