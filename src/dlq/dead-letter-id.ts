import { randomBytes as cryptoRandomBytes } from 'node:crypto';

/**
 * Dead-letter ids: `dlq_` + a ULID in lower-case Crockford base32 (10 characters of
 * millisecond time, 16 of randomness). They sort by creation time as strings and as LMDB
 * keys, and are monotonic within a process: two ids made in the same millisecond (or
 * after the clock stepped back) increment the random part instead of drawing a new one.
 */

/** Lower-case Crockford base32: no i, l, o, u; ascending in ASCII, so ids sort by value. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
const RANDOM_BYTES = 10; // 80 bits = 16 × 5
const MAX_TIME = 2 ** 48 - 1;
const PREFIX = 'dlq_';

const ID_PATTERN = new RegExp(`^${PREFIX}[${ALPHABET}]{${TIME_CHARS + RANDOM_CHARS}}$`);

/** Makes the id of an entry stored at `at` (ms since the epoch). */
export type DeadLetterIdSource = (at: number) => string;

/** Whether `value` has the shape of a dead-letter id (for admin routes: 400 before a lookup). */
export function isDeadLetterId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** The creation time encoded in an id, in ms since the epoch. */
export function deadLetterIdTime(id: string): number {
  if (!isDeadLetterId(id)) throw new TypeError(`Not a dead-letter id: ${JSON.stringify(id)}`);
  let time = 0;
  for (const char of id.slice(PREFIX.length, PREFIX.length + TIME_CHARS)) time = time * 32 + ALPHABET.indexOf(char);
  return time;
}

/**
 * A monotonic id source. `randomBytes` is injectable so tests can make ids reproducible.
 */
export function monotonicIdSource(randomBytes: (size: number) => Uint8Array = cryptoRandomBytes): DeadLetterIdSource {
  let lastTime = -1;
  let lastRandom = new Uint8Array(RANDOM_BYTES);
  return (at: number): string => {
    if (!Number.isInteger(at) || at < 0 || at > MAX_TIME) throw new RangeError(`A dead-letter id needs a time in ms between 0 and 2^48-1, got ${at}`);
    if (at > lastTime) {
      lastTime = at;
      lastRandom = Uint8Array.from(randomBytes(RANDOM_BYTES));
      if (lastRandom.length !== RANDOM_BYTES) throw new RangeError(`randomBytes(${RANDOM_BYTES}) returned ${lastRandom.length} bytes`);
    } else if (!increment(lastRandom)) {
      // 2^80 ids in one millisecond: move to the next millisecond rather than repeat an id.
      lastTime++;
      lastRandom = Uint8Array.from(randomBytes(RANDOM_BYTES));
    }
    return PREFIX + encodeTime(lastTime) + encodeRandom(lastRandom);
  };
}

function encodeTime(time: number): string {
  let out = '';
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET.charAt(time % 32) + out;
    time = Math.floor(time / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = '';
  for (let i = 0; i < RANDOM_CHARS; i++) {
    out = ALPHABET.charAt(Number(value & 31n)) + out;
    value >>= 5n;
  }
  return out;
}

/** Adds one to a big-endian number in place; false when it wrapped around. */
function increment(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i]!;
    if (byte < 255) {
      bytes[i] = byte + 1;
      return true;
    }
    bytes[i] = 0;
  }
  return false;
}
