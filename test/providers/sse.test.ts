import { describe, expect, it } from 'vitest';
import { createSseParser, isDoneSentinel, parseSse } from '../../src/providers/sse.js';
import type { SseEvent } from '../../src/providers/sse.js';

function collect(chunks: Array<string | Uint8Array>): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('createSseParser', () => {
  it('parses OpenAI-style data events', () => {
    expect(collect(['data: {"a":1}\n\ndata: [DONE]\n\n'])).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: undefined, data: '[DONE]' },
    ]);
  });

  it('skips DeepSeek and OpenRouter comment lines and extra blank lines', () => {
    const text = ': keep-alive\n\n: OPENROUTER PROCESSING\n\n\n\ndata: x\n: inside an event\ndata: y\n\n';
    expect(collect([text])).toEqual([{ event: undefined, data: 'x\ny' }]);
  });

  it('joins multiple data lines with \\n and keeps an empty data line', () => {
    expect(collect(['data: a\ndata:\ndata:  b\n\n'])).toEqual([{ event: undefined, data: 'a\n\n b' }]);
    expect(collect(['data\n\n'])).toEqual([{ event: undefined, data: '' }]);
  });

  it('reads the event field (Anthropic) and resets it after each dispatch', () => {
    const text =
      'event: message_start\ndata: {"type":"message_start"}\n\n' +
      'event: ping\ndata: {"type": "ping"}\n\n' +
      'data: plain\n\n';
    expect(collect([text])).toEqual([
      { event: 'message_start', data: '{"type":"message_start"}' },
      { event: 'ping', data: '{"type": "ping"}' },
      { event: undefined, data: 'plain' },
    ]);
  });

  it('does not dispatch an event without data, and forgets its event name', () => {
    expect(collect(['event: lonely\n\ndata: next\n\n'])).toEqual([{ event: undefined, data: 'next' }]);
  });

  it('accepts \\r\\n and \\r line ends', () => {
    expect(collect(['data: a\r\n\r\ndata: b\r\rdata: c\n\n'])).toEqual([
      { event: undefined, data: 'a' },
      { event: undefined, data: 'b' },
      { event: undefined, data: 'c' },
    ]);
  });

  it('treats a \\r\\n split across chunks as one line end (no extra blank line)', () => {
    // Were the split \r and \n two line ends, "data: a" would be dispatched alone and "b" separately.
    expect(collect(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([{ event: undefined, data: 'a\nb' }]);
    expect(collect([bytes('data: a\r'), bytes('\n'), bytes('data: b\r\n\r'), bytes('\n')])).toEqual([
      { event: undefined, data: 'a\nb' },
    ]);
  });

  it('keeps the pending \\r across an empty chunk', () => {
    expect(collect(['data: a\r', '', new Uint8Array(0), '\ndata: b\n\n'])).toEqual([{ event: undefined, data: 'a\nb' }]);
  });

  it('decodes a multi-byte UTF-8 character split across chunks', () => {
    const all = bytes('data: héllo 🌍 世界\n\n');
    const events = collect(Array.from(all, (byte) => Uint8Array.of(byte)));
    expect(events).toEqual([{ event: undefined, data: 'héllo 🌍 世界' }]);
  });

  it('joins a long line that arrives in many small chunks', () => {
    const payload = 'x'.repeat(10_000);
    const chunks = ['data: '];
    for (let i = 0; i < payload.length; i += 7) chunks.push(payload.slice(i, i + 7));
    chunks.push('\n\n');
    expect(collect(chunks)).toEqual([{ event: undefined, data: payload }]);
  });

  it('removes only one leading space from a value, and handles a field without a colon', () => {
    expect(collect(['data:no-space\n\n', 'data:   three\n\n'])).toEqual([
      { event: undefined, data: 'no-space' },
      { event: undefined, data: '  three' },
    ]);
  });

  it('keeps the last event id across events; an empty id resets it; NUL ids are ignored', () => {
    expect(collect(['id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: x\0y\ndata: d\n\n'])).toEqual([
      { event: undefined, data: 'a', id: '1' },
      { event: undefined, data: 'b', id: '1' },
      { event: undefined, data: 'c' },
      { event: undefined, data: 'd' },
    ]);
  });

  it('ignores retry and unknown fields', () => {
    expect(collect(['retry: 1000\nfoo: bar\ndata: a\n\n'])).toEqual([{ event: undefined, data: 'a' }]);
  });

  it('discards an unterminated event at end() (spec behaviour)', () => {
    expect(collect(['data: complete\n\ndata: cut'])).toEqual([{ event: undefined, data: 'complete' }]);
    expect(collect(['data: complete\n\ndata: no blank line\n'])).toEqual([{ event: undefined, data: 'complete' }]);
  });

  it('strips a UTF-8 BOM at the start of a byte stream', () => {
    expect(collect([Uint8Array.of(0xef, 0xbb), Uint8Array.of(0xbf), bytes('data: a\n\n')])).toEqual([
      { event: undefined, data: 'a' },
    ]);
  });

  it('can be reused after end()', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser((event) => events.push(event));
    parser.push('id: 7\ndata: one\n\ndata: partial');
    parser.end();
    parser.push('data: two\n\n');
    parser.end();
    expect(events).toEqual([
      { event: undefined, data: 'one', id: '7' },
      { event: undefined, data: 'two' },
    ]);
  });

  it('parseSse parses a whole body', () => {
    expect(parseSse(bytes(': c\ndata: 1\n\n'))).toEqual([{ event: undefined, data: '1' }]);
  });
});

describe('isDoneSentinel', () => {
  it('recognises [DONE]', () => {
    expect(isDoneSentinel('[DONE]')).toBe(true);
    expect(isDoneSentinel(' [DONE] ')).toBe(true);
    expect(isDoneSentinel('{"done":true}')).toBe(false);
    expect(isDoneSentinel('')).toBe(false);
    expect(isDoneSentinel('[DONE]x')).toBe(false);
  });
});
