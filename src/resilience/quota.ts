/**
 * Backend quotas as the backends report them: the rate-limit headers of every provider family read
 * into one `QuotaSnapshot`, and a `QuotaTracker` per backend that remembers the latest snapshot and
 * any 429 cool-down, so that the router can steer away from a backend before it answers 429, and a
 * 429 cools that backend down until its reset. Pure: time always comes in as an argument.
 *
 * Header families (from the provider wire-API reference, §2–3):
 * - OpenAI, Groq, Together: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, resets as Go-style
 *   durations (`12ms`, `1s`, `6m0s`, `2m59.56s`); Together also bare `x-ratelimit-*` / `x-tokenlimit-*`.
 * - Cerebras: `x-ratelimit-*-requests-day`, `x-ratelimit-*-tokens-minute`, resets in (fractional) seconds.
 * - Mistral: `x-ratelimit-{limit,remaining}-tokens-{minute,month}`, `x-ratelimit-*-req-10-second` (no resets).
 * - Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`,
 *   resets as RFC 3339 timestamps.
 * - Everyone: `retry-after` (seconds or an HTTP date), `retry-after-ms`.
 */
import { parseRetryAfter } from '../upstream/http-error.js';

/** Response headers as Node and undici give them (any name case is accepted). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** What one response said about the backend's quota. Times are absolute, on the caller's `now` scale. */
export interface QuotaSnapshot {
  remainingRequests?: number;
  remainingTokens?: number;
  limitRequests?: number;
  limitTokens?: number;
  /** When the request window of `remainingRequests` resets (explicit, or an upper bound from the window length). */
  resetRequestsAt?: number;
  resetTokensAt?: number;
  /** `retry-after` (or `retry-after-ms`) as an absolute time. */
  retryAfterAt?: number;
  /** The `now` the headers were read at; counts without a reset time go stale from here. */
  observedAt?: number;
}

export interface ParseRateLimitOptions {
  /**
   * Wall-clock epoch milliseconds at the moment `now` stands for. Absolute times in headers (Anthropic's
   * RFC 3339 resets, HTTP-date `retry-after`) are converted to `now + (time − wallNow)`, so a caller on a
   * monotone clock gets times on its own scale. Default: `now` (the caller's clock is the wall clock).
   */
  wallNow?: number;
}

type Resource = 'requests' | 'tokens';

interface WindowReading {
  limit?: number;
  remaining?: number;
  resetAt?: number;
  /** Length of the window when its name says it (`-minute`, `-10-second`, `-day`), for a reset estimate. */
  lengthMs?: number;
}

const SECOND = 1000;
const PLAIN_NUMBER = /^\d+(?:\.\d*)?$|^\.\d+$/;
const SIGNED_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
/** A bare reset number this large (≈ 2001-09-09 as epoch seconds) is an epoch time, not a delay. */
const EPOCH_SECONDS_FROM = 1e9;
const WINDOW_UNIT_MS: Record<string, number | undefined> = {
  second: SECOND,
  minute: 60 * SECOND,
  hour: 3600 * SECOND,
  day: 86_400 * SECOND,
  week: 7 * 86_400 * SECOND,
  // Calendar months differ and a month's reset instant is not sent: no estimate (stale rule applies).
  month: undefined,
};

/**
 * A Go-style duration string in milliseconds (`2m59.56s` → 179560), or undefined when the text is
 * not one (a bare number has no unit and is not a duration here). Never throws. The grammar: one or
 * more `<number><unit>` terms and nothing else, `(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d))+`.
 */
export function parseDuration(text: string): number | undefined {
  // By hand, not by regex: every answer's reset headers come through here.
  const s = text.trim();
  const n = s.length;
  if (n === 0) return undefined;
  let total = 0;
  let i = 0;
  while (i < n) {
    const start = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    const wholeDigits = i - start;
    let fractionDigits = 0;
    if (i < n && s.charCodeAt(i) === 0x2e /* . */) {
      i++;
      const fractionStart = i;
      while (i < n && isDigit(s.charCodeAt(i))) i++;
      fractionDigits = i - fractionStart;
    }
    if (wholeDigits === 0 && fractionDigits === 0) return undefined;
    const value = Number(s.slice(start, i));
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    let unit: number;
    if (c === 0x6d /* m */) {
      unit = next === 0x73 /* s */ ? 1 : 60 * SECOND;
      i += next === 0x73 ? 2 : 1;
    } else if (c === 0x73 /* s */) {
      unit = SECOND;
      i++;
    } else if (c === 0x68 /* h */) {
      unit = 3600 * SECOND;
      i++;
    } else if (c === 0x64 /* d */) {
      unit = 86_400 * SECOND;
      i++;
    } else if (next === 0x73 && (c === 0x6e /* n */ || c === 0x75 /* u */ || c === 0xb5 /* µ */ || c === 0x3bc /* μ */)) {
      unit = c === 0x6e ? 1e-6 : 1e-3;
      i += 2;
    } else return undefined;
    total += value * unit;
  }
  return Number.isFinite(total) ? total : undefined;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * The wait a provider's 429 message asks for, in milliseconds: Moonshot's "please try again after 1
 * seconds", OpenAI's "Please try again in 6m0s." / "in 20ms". Undefined when the message names none.
 */
export function retryAfterFromMessage(message: string): number | undefined {
  const match = /try again (?:after|in)\s+(\d[\dA-Za-zµμ.]*)(?:\s*(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b)?/i.exec(
    message,
  );
  if (!match) return undefined;
  const token = (match[1] ?? '').replace(/\.+$/, '');
  if (PLAIN_NUMBER.test(token)) {
    const word = (match[2] ?? 'seconds').toLowerCase();
    const unit = word.startsWith('ms') || word.startsWith('milli') ? 1 : word.startsWith('m') ? 60 * SECOND : word.startsWith('h') ? 3600 * SECOND : SECOND;
    const ms = Number(token) * unit;
    return Number.isFinite(ms) ? ms : undefined;
  }
  return parseDuration(token.toLowerCase());
}

/**
 * Reads every provider's rate-limit headers into one snapshot (absolute times on the scale of `now`).
 * Where a provider reports several windows for one resource (Cerebras' day and minute, Mistral's
 * 10-second, minute and month), the most constraining window that has a remaining count wins: the
 * one with the fewest remaining (ties: the later reset), and its limit and reset come with it.
 * Tolerant: a header that does not parse is ignored; this function never throws on header values.
 */
export function parseRateLimitHeaders(headers: ResponseHeaders, now: number, options: ParseRateLimitOptions = {}): QuotaSnapshot {
  const wallNow = options.wallNow ?? now;
  // Made only when a rate-limit header is there (most local backends send none).
  let requestWindows: Map<string, WindowReading> | undefined;
  let tokenWindows: Map<string, WindowReading> | undefined;
  let retryAfterAt: number | undefined;
  let retryAfterMsAt: number | undefined;

  // Called on every answer: no entries array, and names that cannot be a rate-limit header
  // (content-type, date, ...: not starting with x, a or r) are passed over before any regex.
  for (const rawName in headers) {
    const first = rawName.charCodeAt(0) | 0x20;
    if (first !== 0x78 && first !== 0x61 && first !== 0x72) continue;
    const value = firstValue(headers[rawName]);
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (name === 'retry-after') {
      if (retryAfterAt === undefined) {
        const ms = parseRetryAfter(value, wallNow);
        if (ms !== undefined && Number.isFinite(ms)) retryAfterAt = now + ms;
      }
      continue;
    }
    if (name === 'retry-after-ms') {
      const ms = PLAIN_NUMBER.test(value.trim()) ? Number(value.trim()) : NaN;
      if (retryAfterMsAt === undefined && Number.isFinite(ms)) retryAfterMsAt = now + ms;
      continue;
    }
    const field = classified(name);
    if (field === undefined) continue;
    const reading = readingFor(field.resource === 'tokens' ? (tokenWindows ??= new Map()) : (requestWindows ??= new Map()), field);
    if (field.kind === 'reset') {
      const at = parseResetAt(value, now, wallNow);
      if (at !== undefined && reading.resetAt === undefined) reading.resetAt = at;
    } else {
      const count = parseCount(value);
      if (count !== undefined && reading[field.kind] === undefined) reading[field.kind] = count;
    }
  }

  const snapshot: QuotaSnapshot = { observedAt: now };
  const requests = requestWindows && mostConstraining(requestWindows, now);
  const tokens = tokenWindows && mostConstraining(tokenWindows, now);
  if (requests?.remaining !== undefined) snapshot.remainingRequests = requests.remaining;
  if (requests?.limit !== undefined) snapshot.limitRequests = requests.limit;
  if (requests?.resetAt !== undefined) snapshot.resetRequestsAt = requests.resetAt;
  if (tokens?.remaining !== undefined) snapshot.remainingTokens = tokens.remaining;
  if (tokens?.limit !== undefined) snapshot.limitTokens = tokens.limit;
  if (tokens?.resetAt !== undefined) snapshot.resetTokensAt = tokens.resetAt;
  // `retry-after-ms` is the more precise of the two when both are sent.
  const retryAt = retryAfterMsAt ?? retryAfterAt;
  if (retryAt !== undefined) snapshot.retryAfterAt = retryAt;
  return snapshot;
}

interface HeaderField {
  resource: Resource;
  kind: 'limit' | 'remaining' | 'reset';
  /** The window's name as the header spells it (`''` when the header names none). */
  window: string;
  /** The window's length when its name says it (`windowLengthMs`). */
  lengthMs?: number | undefined;
}

/** Header names already classified (null: not a rate-limit header); a backend sends the same few every time. */
const CLASSIFIED = new Map<string, HeaderField | null>();
/** Bounds CLASSIFIED, so that a backend sending ever-new header names cannot grow it. */
const MAX_CLASSIFIED = 512;

function classified(name: string): HeaderField | undefined {
  let field = CLASSIFIED.get(name);
  if (field === undefined) {
    const found = classifyHeader(name);
    if (found !== undefined) found.lengthMs = windowLengthMs(found.window);
    field = found ?? null;
    if (CLASSIFIED.size < MAX_CLASSIFIED) CLASSIFIED.set(name, field);
  }
  return field ?? undefined;
}

function classifyHeader(name: string): HeaderField | undefined {
  let match = /^x-ratelimit-(limit|remaining|reset)-(requests|req|tokens)(?:-(.+))?$/.exec(name);
  if (match) {
    return { kind: match[1] as HeaderField['kind'], resource: match[2] === 'tokens' ? 'tokens' : 'requests', window: match[3] ?? '' };
  }
  match = /^anthropic-ratelimit-(requests|tokens|input-tokens|output-tokens)-(limit|remaining|reset)$/.exec(name);
  if (match) {
    const pool = match[1] ?? '';
    // Input and output tokens are separate pools; each is a token window (the plain one is the tightest).
    return { kind: match[2] as HeaderField['kind'], resource: pool === 'requests' ? 'requests' : 'tokens', window: pool.replace(/-?tokens$/, '') };
  }
  match = /^x-(ratelimit|tokenlimit)-(limit|remaining|reset)$/.exec(name); // Together (unverified)
  if (match) return { kind: match[2] as HeaderField['kind'], resource: match[1] === 'tokenlimit' ? 'tokens' : 'requests', window: '' };
  return undefined;
}

function readingFor(map: Map<string, WindowReading>, field: HeaderField): WindowReading {
  let reading = map.get(field.window);
  if (reading === undefined) {
    reading = {};
    if (field.lengthMs !== undefined) reading.lengthMs = field.lengthMs;
    map.set(field.window, reading);
  }
  return reading;
}

/** `10-second` → 10 000, `minute` → 60 000, `day` → 86 400 000; undefined for `month` and unknown names. */
function windowLengthMs(window: string): number | undefined {
  const match = /^(?:(\d+)-)?(second|minute|hour|day|week|month)s?$/.exec(window);
  if (!match) return undefined;
  const unit = WINDOW_UNIT_MS[match[2] ?? ''];
  return unit === undefined ? undefined : Number(match[1] ?? 1) * unit;
}

function mostConstraining(map: Map<string, WindowReading>, now: number): WindowReading | undefined {
  let best: WindowReading | undefined;
  for (const reading of map.values()) {
    if (reading.remaining === undefined) continue;
    // Mistral sends no resets; a fixed or sliding window of this length frees up by then at the latest.
    // (The readings are this call's own: estimating in place changes nothing outside.)
    if (reading.resetAt === undefined && reading.lengthMs !== undefined) reading.resetAt = now + reading.lengthMs;
    if (
      best === undefined ||
      reading.remaining < (best.remaining ?? Infinity) ||
      (reading.remaining === best.remaining && (reading.resetAt ?? -Infinity) > (best.resetAt ?? -Infinity))
    ) {
      best = reading;
    }
  }
  if (best !== undefined) return best;
  // No remaining count anywhere: keep the smallest limit, which still says something about the backend.
  for (const reading of map.values()) {
    if (reading.limit !== undefined && (best === undefined || reading.limit < (best.limit ?? Infinity))) best = reading;
  }
  return best;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  return typeof raw === 'string' ? raw : undefined;
}

/** A count (`remaining`, `limit`); an overdrawn negative count is read as 0. */
function parseCount(value: string): number | undefined {
  const trimmed = value.trim();
  if (!SIGNED_NUMBER.test(trimmed)) return undefined;
  const count = Number(trimmed);
  return Number.isFinite(count) ? Math.max(0, count) : undefined;
}

/**
 * A reset header as an absolute time: a Go duration (`6m0s`), bare seconds (`11.38`, Cerebras), bare
 * epoch seconds (≥ 1e9), or an RFC 3339 / HTTP date (Anthropic). A time already past reads as `now`.
 */
function parseResetAt(value: string, now: number, wallNow: number): number | undefined {
  const at = resetTime(value.trim(), now, wallNow);
  return at !== undefined && Number.isFinite(at) ? at : undefined;
}

function resetTime(text: string, now: number, wallNow: number): number | undefined {
  if (PLAIN_NUMBER.test(text)) {
    const seconds = Number(text);
    return seconds >= EPOCH_SECONDS_FROM ? now + Math.max(0, seconds * SECOND - wallNow) : now + seconds * SECOND;
  }
  const duration = parseDuration(text);
  if (duration !== undefined) return now + duration;
  if (RFC_3339.test(text) || IMF_FIXDATE.test(text)) {
    const time = Date.parse(text);
    if (!Number.isNaN(time)) return now + Math.max(0, time - wallNow);
  }
  return undefined;
}

// ── the tracker ────────────────────────────────────────────────────────────────────────────────────

export interface QuotaTrackerOptions {
  /** How long counts that came without a reset time are trusted after they were observed. Default 60 000. */
  staleAfterMs?: number;
  /**
   * Share of a limit held back: the backend counts as nearly exhausted when the demand would leave
   * fewer than `ceil(limit × reserveFraction)`. Default 0.01 (1 %). In [0, 1).
   */
  reserveFraction?: number;
  /** Cool-down after a 429 that says nothing about when to come back. Default 1000. */
  defaultCoolDownMs?: number;
}

/** What the caller is about to spend: the request itself plus those already in flight, and their tokens. */
export interface QuotaDemand {
  /** Requests (default 1: the one about to be sent; add the ones in flight and not yet answered). */
  requests?: number;
  /** Estimated tokens (prompt + max completion, as Cerebras counts them). Default 0. */
  tokens?: number;
}

/** A backend's quota as of `now`: only counts whose window has not reset yet. */
export interface QuotaState {
  /** Set while a 429 (or a `retry-after`) keeps the backend out of use. */
  coolingDownUntil?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  limitRequests?: number;
  limitTokens?: number;
  resetRequestsAt?: number;
  resetTokensAt?: number;
  /** Cooling down, or the demand would use up (past the reserve) what is left before the window resets. */
  nearlyExhausted: boolean;
}

interface Dimension {
  remaining: number;
  limit?: number;
  resetAt?: number;
  observedAt?: number;
}

/**
 * One backend's quota, as its responses report it. The latest observation wins (a snapshot older than
 * the one held, by `observedAt`, is ignored); counts lapse at their reset, or `staleAfterMs` after they
 * were observed when no reset was given (a snapshot without `observedAt` and without a reset is not
 * trusted at all: nothing would ever clear it).
 */
export class QuotaTracker {
  private readonly staleAfterMs: number;
  private readonly reserveFraction: number;
  private readonly defaultCoolDownMs: number;
  private requests: Dimension | undefined;
  private tokens: Dimension | undefined;
  private limits: { requests?: number; tokens?: number } = {};
  private coolingDownUntil: number | undefined;

  constructor(options: QuotaTrackerOptions = {}) {
    this.staleAfterMs = options.staleAfterMs ?? 60_000;
    this.reserveFraction = options.reserveFraction ?? 0.01;
    this.defaultCoolDownMs = options.defaultCoolDownMs ?? 1000;
    if (!(Number.isFinite(this.staleAfterMs) && this.staleAfterMs >= 0)) {
      throw new RangeError(`QuotaTracker: staleAfterMs must be a finite number ≥ 0 (got ${this.staleAfterMs})`);
    }
    if (!(this.reserveFraction >= 0 && this.reserveFraction < 1)) {
      throw new RangeError(`QuotaTracker: reserveFraction must be in [0, 1) (got ${this.reserveFraction})`);
    }
    if (!(Number.isFinite(this.defaultCoolDownMs) && this.defaultCoolDownMs >= 0)) {
      throw new RangeError(`QuotaTracker: defaultCoolDownMs must be a finite number ≥ 0 (got ${this.defaultCoolDownMs})`);
    }
  }

  /** Takes in what a response's headers said (`parseRateLimitHeaders`); a `retryAfterAt` cools the backend down. */
  observe(snapshot: QuotaSnapshot, now?: number): void {
    const observedAt = snapshot.observedAt ?? now;
    this.requests = this.merge(this.requests, snapshot.remainingRequests, snapshot.limitRequests, snapshot.resetRequestsAt, observedAt);
    this.tokens = this.merge(this.tokens, snapshot.remainingTokens, snapshot.limitTokens, snapshot.resetTokensAt, observedAt);
    if (snapshot.limitRequests !== undefined) this.limits.requests = snapshot.limitRequests;
    if (snapshot.limitTokens !== undefined) this.limits.tokens = snapshot.limitTokens;
    if (snapshot.retryAfterAt !== undefined) this.coolDown(snapshot.retryAfterAt);
  }

  /** Keeps the backend out of use until `untilMs` (never shortens a cool-down already running). `Infinity` is allowed. */
  coolDown(untilMs: number): void {
    if (Number.isNaN(untilMs)) throw new RangeError('QuotaTracker.coolDown: untilMs must be a number (got NaN)');
    this.coolingDownUntil = Math.max(this.coolingDownUntil ?? -Infinity, untilMs);
  }

  /**
   * The backend answered 429: cools it down until the latest of its `retry-after`, the reset of every
   * window it reports empty, or (knowing none of those) `now + defaultCoolDownMs`. Returns that time,
   * which is also the hint for a retry on the same backend (`retryDelay`'s `resetAtMs`).
   */
  onRateLimited(now: number, hint: { retryAfterMs?: number; snapshot?: QuotaSnapshot } = {}): number {
    if (hint.snapshot !== undefined) this.observe(hint.snapshot, now);
    const candidates: number[] = [];
    if (hint.retryAfterMs !== undefined && hint.retryAfterMs >= 0) candidates.push(now + hint.retryAfterMs);
    if (hint.snapshot?.retryAfterAt !== undefined) candidates.push(hint.snapshot.retryAfterAt);
    for (const dimension of [this.requests, this.tokens]) {
      if (dimension !== undefined && this.inForce(dimension, now) && dimension.remaining <= 0 && dimension.resetAt !== undefined) {
        candidates.push(dimension.resetAt);
      }
    }
    const until = candidates.length > 0 ? Math.max(...candidates) : now + this.defaultCoolDownMs;
    this.coolDown(until);
    return this.coolingDownUntil ?? until;
  }

  /** The quota as of `now`, for a request that would spend `demand`. */
  state(now: number, demand: QuotaDemand = {}): QuotaState {
    const state: QuotaState = { nearlyExhausted: false };
    if (this.coolingDownUntil !== undefined && now < this.coolingDownUntil) {
      state.coolingDownUntil = this.coolingDownUntil;
      state.nearlyExhausted = true;
    }
    if (this.limits.requests !== undefined) state.limitRequests = this.limits.requests;
    if (this.limits.tokens !== undefined) state.limitTokens = this.limits.tokens;
    const requests = this.requests !== undefined && this.inForce(this.requests, now) ? this.requests : undefined;
    const tokens = this.tokens !== undefined && this.inForce(this.tokens, now) ? this.tokens : undefined;
    if (requests !== undefined) {
      state.remainingRequests = requests.remaining;
      if (requests.resetAt !== undefined) state.resetRequestsAt = requests.resetAt;
      if (this.short(requests, Math.max(0, demand.requests ?? 1))) state.nearlyExhausted = true;
    }
    if (tokens !== undefined) {
      state.remainingTokens = tokens.remaining;
      if (tokens.resetAt !== undefined) state.resetTokensAt = tokens.resetAt;
      if (this.short(tokens, Math.max(0, demand.tokens ?? 0))) state.nearlyExhausted = true;
    }
    return state;
  }

  private merge(
    held: Dimension | undefined,
    remaining: number | undefined,
    limit: number | undefined,
    resetAt: number | undefined,
    observedAt: number | undefined,
  ): Dimension | undefined {
    if (remaining === undefined) return held;
    if (held?.observedAt !== undefined && observedAt !== undefined && observedAt < held.observedAt) return held; // out of order
    const dimension: Dimension = { remaining };
    const knownLimit = limit ?? held?.limit;
    if (knownLimit !== undefined) dimension.limit = knownLimit;
    if (resetAt !== undefined) dimension.resetAt = resetAt;
    if (observedAt !== undefined) dimension.observedAt = observedAt;
    return dimension;
  }

  private inForce(dimension: Dimension, now: number): boolean {
    if (dimension.resetAt !== undefined) return now < dimension.resetAt;
    return dimension.observedAt !== undefined && now < dimension.observedAt + this.staleAfterMs;
  }

  private short(dimension: Dimension, demand: number): boolean {
    const reserve = dimension.limit === undefined ? 0 : Math.ceil(dimension.limit * this.reserveFraction);
    // With nothing asked for (a zero token estimate), an empty window is still exhausted.
    return dimension.remaining - demand < reserve || dimension.remaining <= 0;
  }
}

/** Upper bound of a nearly exhausted backend's score: it sorts after every backend with room left. */
export const NEARLY_EXHAUSTED_SCORE = 0.05;

/**
 * How much quota a backend has left, in [0, 1] (1 = plenty, 0 = cooling down or empty), for ordering
 * candidates: the smallest remaining share over its windows still in force at `now` (a count without a
 * limit counts as plenty unless it is 0), capped at NEARLY_EXHAUSTED_SCORE when nearly exhausted.
 */
export function quotaScore(state: QuotaState, now: number): number {
  if (state.coolingDownUntil !== undefined && now < state.coolingDownUntil) return 0;
  let score = 1;
  let anyInForce = false;
  const windows: Array<[number | undefined, number | undefined, number | undefined]> = [
    [state.remainingRequests, state.limitRequests, state.resetRequestsAt],
    [state.remainingTokens, state.limitTokens, state.resetTokensAt],
  ];
  for (const [remaining, limit, resetAt] of windows) {
    if (remaining === undefined || (resetAt !== undefined && now >= resetAt)) continue;
    anyInForce = true;
    const share = limit !== undefined && limit > 0 ? remaining / limit : remaining > 0 ? 1 : 0;
    score = Math.min(score, share);
  }
  if (state.nearlyExhausted && anyInForce) score = Math.min(score, NEARLY_EXHAUSTED_SCORE);
  return Number.isNaN(score) ? 0 : Math.min(1, Math.max(0, score));
}
