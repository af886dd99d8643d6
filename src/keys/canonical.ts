/**
 * Canonical JSON: one text per JSON value, whatever the order its object keys came in and
 * whatever whitespace it was sent with. The request key hashes this text, so two requests that
 * mean the same thing get the same key.
 *
 * Rules (JSON.stringify's, plus sorting):
 * - object keys sorted by UTF-16 code units (`Array.prototype.sort()` without a comparator), at
 *   every depth;
 * - no whitespace;
 * - object members whose value is `undefined`, a function or a symbol are dropped; in arrays they
 *   become `null`;
 * - numbers as JSON.stringify prints them (`1.0` and `1` are the same number; `-0` prints `0`;
 *   NaN and ±Infinity print `null`);
 * - strings escaped by JSON.stringify (lone surrogates become `\udXXX`, so distinct strings never
 *   collapse into one text);
 * - `toJSON()` is honoured (a Date prints its ISO string), a bigint throws, as in JSON.stringify.
 *
 * Not supported (JSON.parse never produces them): boxed primitives (`new String('a')` prints as
 * an object) and cycles (which end in a RangeError from the stack).
 *
 * `CanonicalWriter` can also feed the text to a hash in chunks instead of building it: V8 puts a
 * string above 128 KB in its large-object space, and on these machines allocating one costs
 * ≈ 4 µs per KB (fresh pages fault), several times the cost of hashing it: keying a 256 KB body
 * took 1.7 ms as one string and 0.6 ms in chunks. In hash mode the writer makes no string
 * longer than ≈ 100 K UTF-16 units, whatever the size of the body.
 */
import { createHash, hash, type Hash } from 'node:crypto';

/**
 * In hash mode, the accumulated text is handed to the hash once it is this long (UTF-16 units).
 * With STRING_SLICE it keeps every string the writer makes under ≈ 100 K units, below V8's
 * 128 KB large-object limit for one-byte (Latin-1) text; two-byte text can exceed it, which is
 * slower, not wrong. Flushes only ever follow a whole escaped piece, and slices never end
 * inside a surrogate pair, so no update splits a character's UTF-8. Measured: smaller chunks
 * (16 K / 8 K) cost up to 10% more on 16–100 KB bodies.
 */
const FLUSH_AT = 64 * 1024;
/** In hash mode, strings longer than this are escaped in slices of this length. */
const STRING_SLICE = 32 * 1024;

/**
 * The canonical JSON text of `value`.
 * @throws TypeError when `value` itself is `undefined`, a function or a symbol (it has no JSON
 *   text), or contains a bigint.
 */
export function canonicalJson(value: unknown): string {
  const writer = new CanonicalWriter();
  if (!writer.value(value)) throw new TypeError(`canonicalJson: a ${typeof value} has no JSON text`);
  return writer.text;
}

/**
 * The canonical JSON text of the object `value` without its top-level members named in `omit`
 * (deeper members of the same names are kept): `canonicalJson` of a copy without those members,
 * without making the copy.
 */
export function canonicalJsonWithout(value: Readonly<Record<string, unknown>>, omit: ReadonlySet<string>): string {
  const writer = new CanonicalWriter();
  writer.object(value, omit);
  return writer.text;
}

/**
 * Writes canonical JSON text in one pass. Without a hash algorithm it accumulates the text
 * (`text`); with one, it feeds the text to the hash as it goes and `digest()` returns the hash of
 * everything written: the same digest as hashing the accumulated text, without ever holding it.
 */
export class CanonicalWriter {
  /** The text written and not yet handed to the hash (all of it without a hash algorithm). */
  text = '';
  #hash: Hash | undefined;

  /** @param hashAlgorithm e.g. `'sha256'`; omit to accumulate the text. */
  constructor(private readonly hashAlgorithm?: string) {}

  /** Appends text that is already JSON (punctuation, pre-encoded keys). */
  raw(text: string): void {
    this.text += text;
    if (this.hashAlgorithm !== undefined && this.text.length >= FLUSH_AT) this.flush();
  }

  /** Appends the canonical text of `value`; false (and nothing written) when it has none (undefined, function, symbol). */
  value(value: unknown): boolean {
    return this.write(toJsonValue(value, ''));
  }

  /** Appends an object's canonical text, leaving out the members named in `omit`. */
  object(object: Readonly<Record<string, unknown>>, omit: ReadonlySet<string> | undefined): void {
    const keys = Object.keys(object);
    // By UTF-16 code units (what sort() without a comparator does). Request objects are small, and
    // sort() copies every array into a work array first: a quarter of a key's allocations.
    if (keys.length > SMALL_OBJECT_KEYS) keys.sort();
    else insertionSort(keys);
    this.text += '{';
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (omit !== undefined && omit.has(key)) continue;
      const member = toJsonValue(object[key], key);
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      this.text += first ? quotedKey(key) : ',' + quotedKey(key);
      first = false;
      this.write(member);
    }
    this.raw('}');
  }

  /** The hash of everything written (hash mode only), base64url. */
  digest(): string {
    if (this.hashAlgorithm === undefined) throw new Error('CanonicalWriter.digest: the writer has no hash algorithm');
    // Small texts never flushed: a one-shot hash skips creating a Hash object.
    if (this.#hash === undefined) return hash(this.hashAlgorithm, this.text, 'base64url');
    this.flush();
    return this.#hash.digest('base64url');
  }

  /** `value` after toJSON. */
  private write(value: unknown): boolean {
    switch (typeof value) {
      case 'string':
        this.string(value);
        return true;
      case 'number':
        // Number#toString is what JSON.stringify uses for finite numbers (and -0 → "0").
        this.text += Number.isFinite(value) ? String(value) : 'null';
        return true;
      case 'boolean':
        this.text += value ? 'true' : 'false';
        return true;
      case 'object':
        if (value === null) this.text += 'null';
        else if (Array.isArray(value)) this.array(value);
        else this.object(value as Record<string, unknown>, undefined);
        return true;
      case 'bigint':
        throw new TypeError('canonicalJson: a bigint has no JSON text');
      default:
        // undefined, function, symbol
        return false;
    }
  }

  private array(array: readonly unknown[]): void {
    const length = array.length;
    this.text += '[';
    for (let i = 0; i < length; i++) {
      if (i > 0) this.text += ',';
      if (!this.write(toJsonValue(array[i], i))) this.text += 'null';
    }
    this.raw(']');
  }

  private string(value: string): void {
    if (this.hashAlgorithm === undefined) {
      this.text += JSON.stringify(value);
      return;
    }
    if (value.length <= STRING_SLICE) {
      this.raw(JSON.stringify(value));
      return;
    }
    // Escaping is per character, so escaping slices gives the same text as escaping the whole,
    // provided no slice splits a surrogate pair (that would escape both halves as lone ones).
    this.text += '"';
    for (let start = 0; start < value.length; ) {
      let end = Math.min(value.length, start + STRING_SLICE);
      if (end < value.length && isHighSurrogate(value.charCodeAt(end - 1))) end++;
      const escaped = JSON.stringify(value.slice(start, end));
      this.raw(escaped.slice(1, -1));
      start = end;
    }
    this.text += '"';
  }

  private flush(): void {
    if (this.text.length === 0) return;
    this.#hash ??= createHash(this.hashAlgorithm!);
    this.#hash.update(this.text);
    this.text = '';
  }
}

/** Objects with at most this many keys are sorted in place by insertion. */
const SMALL_OBJECT_KEYS = 16;

/** Sorts `keys` in place by UTF-16 code units, allocating nothing. */
function insertionSort(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
}

/**
 * `"key":` texts of recently seen keys. Requests repeat a small vocabulary of keys (role, content,
 * type, properties...), and a Map hit is cheaper than escaping the key again. Bounded: long keys
 * are not kept, and the map starts over when full, so bodies full of made-up keys cannot grow it.
 */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 4096;
const QUOTED_KEY_MAX_LENGTH = 64;

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key) + ':';
    if (key.length <= QUOTED_KEY_MAX_LENGTH) {
      if (quotedKeys.size >= QUOTED_KEYS_MAX) quotedKeys.clear();
      quotedKeys.set(key, quoted);
    }
  }
  return quoted;
}

/** What JSON.stringify serialises in place of `value`: the result of its toJSON(key), if it has one. */
function toJsonValue(value: unknown, key: string | number): unknown {
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(key: string): unknown }).toJSON(String(key));
  }
  return value;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
