/**
 * The response cache's LMDB keys: the record's sequence number (base 36, zero-padded to a fixed
 * width, so string order is write order) followed by the request key. Records are therefore
 * appended at the end of their generation's database (generation.ts), which keeps LMDB's writes on a
 * few pages: request keys are hashes, and keyed by them each write touched a random page. Measured
 * in isolation (lmdb-js, 450-byte values, 300 writes per commit, 100,000 records): 14 µs of LMDB's
 * write thread per random-keyed write, 1.9 µs per appended one.
 */

/**
 * Digits of the sequence: 36^10 ≈ 3.7e15 records (within the doubles' exact integers), 11,000 years
 * of 10,000 writes a second. A narrower width would overflow: 36^7 lasts 90 days at that rate, and a
 * longer sequence would sort before the shorter ones.
 */
const SEQ_WIDTH = 10;
const SEQ_PAD = '0'.repeat(SEQ_WIDTH);

/** The LMDB key of record `seq` for `requestKey`. */
export function recordKey(seq: number, requestKey: string): string {
  const digits = seq.toString(36);
  return SEQ_PAD.slice(digits.length) + digits + requestKey;
}

/** [sequence, request key] of a record key; undefined for a key of another shape. */
export function parseRecordKey(key: unknown): [number, string] | undefined {
  if (typeof key !== 'string' || key.length <= SEQ_WIDTH || !SEQ_DIGITS.test(key)) return undefined;
  return [Number.parseInt(key.slice(0, SEQ_WIDTH), 36), key.slice(SEQ_WIDTH)];
}

const SEQ_DIGITS = new RegExp(`^[0-9a-z]{${SEQ_WIDTH}}`);
