/**
 * One limited key (`global`, `agent:<id>`, `backend:<id>`): its request and token windows, and the
 * reservation the fair queue puts on it when a waiter at the front of the line lacks room in it.
 */
import { RequestWindow } from './sliding-window.js';
import { TokenWindow } from './token-window.js';
import type { RateLimit } from './types.js';

export class LimitKey {
  /** `global`, `agent:<id>` or `backend:<id>`: what messages and metrics call it. */
  readonly name: string;
  readonly requests: RequestWindow | null;
  readonly tokens: TokenWindow | null;

  /**
   * Reservation, valid while `reservedGen` equals the limiter's current generation: a waiter of
   * priority `reservedPriority` is first in line for this key and lacks room in it, so nobody of
   * that priority or lower may take the key before it (it could otherwise starve, e.g. a large
   * token estimate behind a stream of small ones). `reservedUntil` is when it may fit.
   */
  reservedGen = 0;
  reservedPriority = -Infinity;
  reservedUntil = 0;

  constructor(name: string, limit: RateLimit) {
    this.name = name;
    this.requests = limit.requestsPerMinute === undefined ? null : new RequestWindow(limit.requestsPerMinute);
    this.tokens = limit.tokensPerMinute === undefined ? null : new TokenWindow(limit.tokensPerMinute);
  }

  /** True when one more request of `tokens` at `now` fits every window of this key. */
  hasRoom(now: number, tokens: number): boolean {
    return (this.requests === null || this.requests.hasRoom(now)) && (this.tokens === null || this.tokens.hasRoom(now, tokens));
  }

  /** The earliest time ≥ now at which such a request fits if nothing else is admitted (Infinity: never). */
  freeAt(now: number, tokens: number): number {
    const requestsAt = this.requests === null ? now : this.requests.freeAt(now);
    const tokensAt = this.tokens === null ? now : this.tokens.freeAt(now, tokens);
    return requestsAt > tokensAt ? requestsAt : tokensAt;
  }

  record(now: number, tokens: number): void {
    if (this.requests !== null) this.requests.record(now);
    if (this.tokens !== null) this.tokens.record(now, tokens);
  }

  /** False when `tokens` exceeds this key's whole tokens-per-minute limit: such a request never fits. */
  canEverFit(tokens: number): boolean {
    return this.tokens === null || tokens <= this.tokens.limit;
  }

  /** True when nothing admitted is still inside the window: the key's state can be dropped. */
  isIdle(now: number): boolean {
    return (this.requests === null || this.requests.isIdle(now)) && (this.tokens === null || this.tokens.used(now) === 0);
  }

  /** "30 requests/min, 40000 tokens/min", for messages. */
  describe(): string {
    const parts: string[] = [];
    if (this.requests !== null) parts.push(`${this.requests.limit} requests/min`);
    if (this.tokens !== null) parts.push(`${this.tokens.limit} tokens/min`);
    return parts.length === 0 ? 'unlimited' : parts.join(', ');
  }
}
