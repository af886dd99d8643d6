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
 * - `toJSON()` is honoured (a Date prints its ISO string), bigint throws, as in JSON.stringify.
 *
 * Not supported (never produced by JSON.parse): boxed primitives (`new String('a')` prints as an
 * object) and cycles (which end in a RangeError from the stack).
 */

/**
 * The canonical JSON text of `value`.
 * @throws TypeError when `value` itself is `undefined`, a function or a symbol (it has no JSON
 *   text), or contains a bigint.
 */
export function canonicalJson(value: unknown): string {
  const text = write(value);
  if (text === undefined) throw new TypeError(`canonicalJson: a ${typeof value} has no JSON text`);
  return text;
}

/**
 * The canonical JSON text of the object `value` without its top-level members named in `omit`
 * (deeper members of the same names are kept). Equal to `canonicalJson` of a copy without those
 * members, without making the copy.
 */
export function canonicalJsonWithout(value: Readonly<Record<string, unknown>>, omit: ReadonlySet<string>): string {
  return writeObject(value, omit);
}

/** `undefined` when the value has no JSON text (undefined, function, symbol). */
function write(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // Number#toString is what JSON.stringify uses for finite numbers (and -0 → "0").
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return writeArray(value);
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        return write((value as { toJSON(key: string): unknown }).toJSON(''));
      }
      return writeObject(value as Record<string, unknown>, undefined);
    case 'bigint':
      throw new TypeError('canonicalJson: a bigint has no JSON text');
    default:
      // undefined, function, symbol
      return undefined;
  }
}

function writeArray(array: readonly unknown[]): string {
  const length = array.length;
  if (length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < length; i++) {
    if (i > 0) out += ',';
    out += write(array[i]) ?? 'null';
  }
  return out + ']';
}

function writeObject(object: Readonly<Record<string, unknown>>, omit: ReadonlySet<string> | undefined): string {
  const keys = Object.keys(object);
  // Without a comparator, sort() compares strings by UTF-16 code units, and needs no callback.
  keys.sort();
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (omit !== undefined && omit.has(key)) continue;
    const text = write(object[key]);
    if (text === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(key) + ':' + text;
  }
  return out + '}';
}
