import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonWithout, CanonicalWriter } from '../../src/keys/canonical.js';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function digestOf(value: unknown): string {
  const writer = new CanonicalWriter('sha256');
  writer.value(value);
  return writer.digest();
}

describe('canonicalJson', () => {
  it('sorts object keys at every depth and writes no whitespace', () => {
    const value = { b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } };
    expect(canonicalJson(value)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('keeps arrays in order', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
  });

  it('sorts by UTF-16 code units, not by code points or locale', () => {
    // U+1F600 is the pair D83D DE00, so it sorts before U+FFFF by code units (after it by code points).
    const value = { '\uFFFF': 1, '\u{1F600}': 2, a: 3, B: 4, '': 5, é: 6 };
    expect(canonicalJson(value)).toBe('{"":5,"B":4,"a":3,"é":6,"\u{1F600}":2,"\uFFFF":1}');
  });

  it('sorts integer-like keys as strings, not in the numeric order objects list them', () => {
    expect(canonicalJson({ 10: 'a', 9: 'b', x: 'c' })).toBe('{"10":"a","9":"b","x":"c"}');
  });

  it('prints numbers as JSON.stringify does', () => {
    expect(canonicalJson(JSON.parse('{"a":1.0,"b":1e2,"c":-0.5,"d":1E-7}'))).toBe('{"a":1,"b":100,"c":-0.5,"d":1e-7}');
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe('[null,null,null]');
  });

  // fast-check counterexample [-0] (props/request-key.prop.ts): JSON has no -0.
  it('prints -0 as 0, so [-0] parses back as [0]', () => {
    expect(canonicalJson([-0])).toBe('[0]');
    expect(JSON.parse(canonicalJson([-0]))).toEqual([0]);
  });

  it('drops undefined, function and symbol members, and writes them as null in arrays', () => {
    const value = { a: undefined, b: () => 1, c: Symbol('s'), d: 1 };
    expect(canonicalJson(value)).toBe('{"d":1}');
    expect(canonicalJson([undefined, () => 1, Symbol('s'), 1])).toBe('[null,null,null,1]');
    expect(canonicalJson({ a: undefined })).toBe('{}');
  });

  it('throws a TypeError for a top-level value without JSON text, and for a bigint', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
  });

  it('honours toJSON (a Date prints its ISO string)', () => {
    expect(canonicalJson({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
    expect(canonicalJson({ x: { toJSON: () => undefined } })).toBe('{}');
  });

  it('escapes strings as JSON.stringify does, lone surrogates included', () => {
    const strings = ['a"b\\c', '\n\t\u0000\u001f', 'é 😀', '\ud800', 'x\udc00y', '\u2028'];
    for (const s of strings) expect(canonicalJson(s)).toBe(JSON.stringify(s));
    expect(canonicalJson({ [strings[0]!]: 1 })).toBe(`{${JSON.stringify(strings[0])}:1}`);
  });

  it('equals JSON.stringify for a value whose keys are already sorted', () => {
    const value = { a: [1, 'two', { b: false, c: null }], d: { e: 'f' } };
    expect(canonicalJson(value)).toBe(JSON.stringify(value));
  });
});

describe('canonicalJsonWithout', () => {
  it('leaves out the named top-level members only', () => {
    const value = { stream: true, user: 'u', messages: [{ stream: 1, user: 2 }] };
    expect(canonicalJsonWithout(value, new Set(['stream', 'user']))).toBe('{"messages":[{"stream":1,"user":2}]}');
  });
});

describe('CanonicalWriter in hash mode', () => {
  it('gives the hash of the canonical text, for small values', () => {
    const value = { b: [1, 2], a: 'x' };
    expect(digestOf(value)).toBe(sha256(canonicalJson(value)));
  });

  // A slice boundary inside a surrogate pair would escape both halves as lone surrogates.
  it('hashes long strings in slices without splitting surrogate pairs, whatever their offset', () => {
    for (let shift = 0; shift < 4; shift++) {
      const long = 'x'.repeat(shift) + '😀'.repeat(50_000) + '"\n' + 'é'.repeat(40_000);
      const value = { content: long };
      expect(digestOf(value)).toBe(sha256(canonicalJson(value)));
    }
  });

  it('hashes long strings with lone surrogates at slice boundaries', () => {
    const slice = 32 * 1024;
    const chars = Array.from({ length: 3 * slice + 7 }, (_, i) => (i % slice === slice - 1 ? '\ud800' : i % slice === 0 ? '\udc00' : 'a'));
    const value = [chars.join('')];
    expect(digestOf(value)).toBe(sha256(canonicalJson(value)));
  });

  it('hashes bodies made of many small members (flushed between containers)', () => {
    const value = { rows: Array.from({ length: 20_000 }, (_, i) => ({ i, s: `row ${i}`, f: i / 3 })) };
    expect(digestOf(value)).toBe(sha256(canonicalJson(value)));
  });

  it('refuses digest() without a hash algorithm', () => {
    expect(() => new CanonicalWriter().digest()).toThrow(/no hash algorithm/);
  });
});
