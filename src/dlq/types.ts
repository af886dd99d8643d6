/**
 * What the dead-letter queue stores in LMDB (named database `dlq`, msgpack values, keyed
 * by the entry's id). A request lands here when every candidate backend failed; an
 * operator can list, show, replay (through the normal request path) and delete it.
 *
 * No secret is ever stored: `body` is the agent's request as received (OpenAI format),
 * and the agent's bearer key travels in the `Authorization` header, never in the body;
 * backend API keys live only in the env vars their config names. Nothing here is a
 * header or a credential.
 */

import type { Endpoint, RequestHints } from '../gateway/types.js';

export const DLQ_DB_NAME = 'dlq';
export const DEAD_LETTER_VERSION = 1;

/** One failed try at one backend, in the order they were made. */
export interface DeadLetterAttempt {
  /** The backend id. */
  backend: string;
  /** The model asked of that backend. */
  model: string;
  /** When the attempt failed, in ms since the epoch. */
  at: number;
  /** The optimizer's error code (`UPSTREAM_TIMEOUT`, `UPSTREAM_UNREACHABLE`...). */
  code: string;
  /** The HTTP status the failure maps to (the backend's own, when it answered). */
  status: number;
  message: string;
}

/** One replay of the entry through the request path. */
export interface DeadLetterReplay {
  /** When the replay finished, in ms since the epoch. */
  at: number;
  /** `ok`, or the error code the replay ended with. */
  outcome: 'ok' | (string & {});
  /** The replay's own request id (`x-request-id`), to find it in the logs. */
  requestId: string;
}

export interface DeadLetter {
  v: typeof DEAD_LETTER_VERSION;
  /** `dlq_` + 26 Crockford base32 characters; sorts by creation time. */
  id: string;
  /** When it was stored, in ms since the epoch. */
  at: number;
  agentId: string;
  tenant: string;
  endpoint: Endpoint;
  /** The request as received (never contains the agent's key: see the module comment). */
  body: Record<string, unknown>;
  hints: RequestHints;
  /** Whether the caller asked for a stream. */
  stream: boolean;
  /** Why it was dead-lettered, in one sentence (e.g. "all 3 candidate backends failed"). */
  reason: string;
  attempts: DeadLetterAttempt[];
  /** Replays so far, oldest first. */
  replays: DeadLetterReplay[];
}

/** What the request path hands to `DeadLetters.add`: the store assigns the rest. */
export type NewDeadLetter = Omit<DeadLetter, 'v' | 'id' | 'at' | 'replays'>;

/** One page of `DeadLetters.list`, newest first. */
export interface DeadLetterPage {
  entries: DeadLetter[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  next?: string;
}
