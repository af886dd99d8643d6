/**
 * Incremental NDJSON (newline-delimited JSON) line splitter for Ollama's native streams
 * (`application/x-ndjson`): one JSON value per line. Bytes are decoded as streaming UTF-8 (a
 * character split across chunks is kept whole); `\r\n` ends a line too; blank lines are skipped.
 * A last line without its newline is still delivered at `end()` (Ollama ends with one, but a
 * tolerant reader loses nothing).
 */
export interface NdjsonParser {
  push(chunk: Uint8Array | string): void;
  end(): void;
}

/** Creates a splitter that calls `onLine` with each non-blank line, in order. */
export function createNdjsonParser(onLine: (line: string) => void): NdjsonParser {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  const emit = (line: string): void => {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() !== '') onLine(text);
  };
  const feed = (text: string): void => {
    let start = 0;
    let newline = text.indexOf('\n');
    if (newline === -1) {
      pending += text;
      return;
    }
    emit(pending + text.slice(0, newline));
    pending = '';
    start = newline + 1;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      emit(text.slice(start, newline));
      start = newline + 1;
    }
    pending = text.slice(start);
  };
  return {
    push(chunk) {
      feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    },
    end() {
      feed(decoder.decode());
      const rest = pending;
      pending = '';
      emit(rest);
    },
  };
}
