import { request } from '../upstream/undici.js';
import type { Secret } from '../config/secret.js';
import type { Logger } from '../log/logger.js';
import type { Alert } from './engine.js';

export interface WebhookOptions {
  /** The URL (a Secret: webhook URLs often carry their token in the path). */
  url: Secret;
  timeoutMs: number;
  logger: Logger;
  /** Notifications waiting to be sent; past it the oldest is dropped and counted. */
  maxPending?: number;
}

export interface WebhookStats {
  /** Scheme, host and port only: the path may hold a token. */
  target: string;
  sent: number;
  failed: number;
  dropped: number;
  pending: number;
  lastError: string | null;
}

/**
 * POSTs each alert change as JSON (`{"type":"alert.raised","alert":{…}}`) to the
 * configured webhook, one at a time, each with a deadline. A webhook that is down, slow
 * or answers an error is logged and counted; it never holds up the engine or a request
 * (notifications wait in a bounded queue). The URL is never logged, only its origin.
 */
export class AlertWebhook {
  readonly #queue: string[] = [];
  readonly #target: string;
  #sending = false;
  #closed = false;
  #sent = 0;
  #failed = 0;
  #dropped = 0;
  #lastError: string | null = null;
  #idle: Promise<void> = Promise.resolve();
  #settle: () => void = () => undefined;

  constructor(private readonly options: WebhookOptions) {
    const url = new URL(options.url.reveal());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError('the alert webhook URL must be http(s)');
    this.#target = url.origin;
  }

  notify(type: 'alert.raised' | 'alert.resolved', alert: Alert): void {
    if (this.#closed) return;
    this.#queue.push(JSON.stringify({ type, alert }));
    if (this.#queue.length > (this.options.maxPending ?? 100)) {
      this.#queue.shift();
      this.#dropped++;
    }
    if (!this.#sending) {
      this.#sending = true;
      this.#idle = new Promise((resolve) => (this.#settle = resolve));
      void this.#drain();
    }
  }

  /** Resolves when nothing waits to be sent (tests; shutdown). */
  idle(): Promise<void> {
    return this.#idle;
  }

  stats(): WebhookStats {
    return { target: this.#target, sent: this.#sent, failed: this.#failed, dropped: this.#dropped, pending: this.#queue.length, lastError: this.#lastError };
  }

  /** Stops sending; what waits is dropped. */
  close(): void {
    this.#closed = true;
    this.#dropped += this.#queue.length;
    this.#queue.length = 0;
  }

  async #drain(): Promise<void> {
    try {
      for (let body = this.#queue.shift(); body !== undefined && !this.#closed; body = this.#queue.shift()) await this.#post(body);
    } finally {
      this.#sending = false;
      this.#settle();
    }
  }

  async #post(body: string): Promise<void> {
    const { timeoutMs, logger } = this.options;
    try {
      const response = await request(this.options.url.reveal(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'enterprise-api-optimizer-alerts' },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump();
      if (response.statusCode >= 300) throw Object.assign(new Error(`answered HTTP ${response.statusCode}`), { code: `HTTP_${response.statusCode}` });
      this.#sent++;
    } catch (error) {
      this.#failed++;
      // undici errors carry a string code (UND_ERR_…); the deadline's DOMException a name (TimeoutError).
      const { code, name } = error as { code?: unknown; name?: unknown };
      // Only a code: an undici message may quote the URL, and the URL may hold a token.
      this.#lastError = typeof code === 'string' ? code : String(name ?? 'Error');
      logger.warn({ event: 'alert.webhook_failed', webhook: this.#target, code: this.#lastError }, 'the alert webhook failed');
    }
  }
}
