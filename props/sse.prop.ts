/**
 * Property: whatever the events, comment lines, line endings and chunk boundaries, the SSE parser
 * yields exactly the events that were serialized, in order, and nothing for an unterminated tail.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSseParser } from '../src/providers/sse.js';
import type { SseEvent } from '../src/providers/sse.js';

interface Block {
  comments: string[];
  event?: string;
  id?: string;
  /** undefined: a block without data, which must not be dispatched. */
  data?: string;
}

/** Any text without line terminators; full Unicode, so UTF-8 sequences of 1 to 4 bytes. */
const lineText = fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ''));
const dataText = fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replace(/\r/g, ''));

const block: fc.Arbitrary<Block> = fc.record(
  {
    comments: fc.array(fc.oneof(lineText, fc.constantFrom(' keep-alive', ' OPENROUTER PROCESSING')), { maxLength: 2 }),
    event: lineText,
    id: lineText.map((s) => s.replace(/\0/g, '')),
    data: fc.option(dataText, { nil: undefined, freq: 6 }),
  },
  { requiredKeys: ['comments'] },
);

type Ending = '\n' | '\r\n' | '\r';

interface Serialized {
  text: string;
  expected: SseEvent[];
}

function fieldLine(name: string, value: string, spaced: boolean): string {
  // Without the optional space, a value starting with a space would lose it.
  return spaced || value.startsWith(' ') ? `${name}: ${value}` : `${name}:${value}`;
}

function serialize(blocks: Block[], endings: Ending[], spacing: boolean[], tail: string): Serialized {
  const lines: string[] = [];
  const expected: SseEvent[] = [];
  let lastId = '';
  let n = 0;
  const spaced = (): boolean => spacing[n++ % spacing.length] ?? true;
  for (const b of blocks) {
    for (const comment of b.comments) lines.push(':' + comment);
    if (b.event !== undefined) lines.push(fieldLine('event', b.event, spaced()));
    if (b.id !== undefined) {
      lines.push(fieldLine('id', b.id, spaced()));
      lastId = b.id;
    }
    if (b.data !== undefined) {
      for (const line of b.data.split('\n')) lines.push(fieldLine('data', line, spaced()));
      const event: SseEvent = { event: b.event === '' ? undefined : b.event, data: b.data };
      if (lastId !== '') event.id = lastId;
      expected.push(event);
    }
    lines.push('');
  }
  const ends: Ending[] = lines.map((_, i) => endings[i % endings.length] ?? '\n');
  // A lone \r followed by a line that starts with \n would read as one \r\n: not a valid serialization.
  for (let i = 0; i + 1 < lines.length; i++) {
    if (ends[i] === '\r' && lines[i + 1] === '' && ends[i + 1] !== '\r') ends[i] = '\r\n';
  }
  let text = '';
  for (let i = 0; i < lines.length; i++) text += lines[i] + (ends[i] ?? '\n');
  // An unterminated event at the end must be discarded.
  return { text: text + tail, expected };
}

function splitAt<T extends { length: number; slice(start: number, end?: number): T }>(whole: T, cuts: number[]): T[] {
  const positions = [...new Set(cuts.map((c) => Math.floor(c * whole.length)))].sort((a, b) => a - b);
  const parts: T[] = [];
  let start = 0;
  for (const position of positions) {
    parts.push(whole.slice(start, position));
    start = position;
  }
  parts.push(whole.slice(start));
  return parts;
}

const scenario = fc.record({
  blocks: fc.array(block, { maxLength: 8 }),
  endings: fc.array(fc.constantFrom<Ending>('\n', '\r\n', '\r'), { minLength: 1, maxLength: 6 }),
  spacing: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
  tail: fc.oneof(fc.constant(''), fc.constant('data: cut'), fc.constant('event: x\ndata: y\n'), fc.constant('data: z\r')),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
  /** When set, the input is cut every `chunkSize` units instead (so every boundary gets hit). */
  chunkSize: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 2 }),
});

function cutInput<T extends { length: number; slice(start: number, end?: number): T }>(
  whole: T,
  cuts: number[],
  chunkSize: number | undefined,
): T[] {
  if (chunkSize === undefined) return splitAt(whole, cuts);
  const parts: T[] = [];
  for (let i = 0; i < whole.length; i += chunkSize) parts.push(whole.slice(i, i + chunkSize));
  return parts;
}

function run(chunks: Array<string | Uint8Array>): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

describe('SSE parser (property)', () => {
  it('yields exactly the serialized events, whatever the byte boundaries', () => {
    fc.assert(
      fc.property(scenario, ({ blocks, endings, spacing, tail, cuts, chunkSize }) => {
        const { text, expected } = serialize(blocks, endings, spacing, tail);
        const bytes = new TextEncoder().encode(text);
        expect(run(cutInput(bytes, cuts, chunkSize))).toStrictEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('yields exactly the serialized events, whatever the string boundaries', () => {
    fc.assert(
      fc.property(scenario, ({ blocks, endings, spacing, tail, cuts, chunkSize }) => {
        const { text, expected } = serialize(blocks, endings, spacing, tail);
        expect(run(cutInput(text, cuts, chunkSize))).toStrictEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
