/** Values read at the moment they are asked for (a scrape, a stats call), not counted. */
export interface GaugeReadings {
  /** Requests waiting in the rate limiter's queues. */
  queueDepth: number;
  /** Live agent session actors. */
  sessions: number;
  /** Requests being answered. */
  inFlight: number;
  /** Entries in the dead-letter queue (0 while the store is down). */
  dlqSize: number;
  /** Answers in the response cache (0 while the store is down); against `cache.maxEntries`. */
  cacheEntries: number;
  /** Records the response cache has evicted since the process started (a count that only grows). */
  cacheEvicted: number;
  /** Each configured backend's circuit breaker (absent while its actor is down or disabled). */
  breakers: { backend: string; state: 'closed' | 'half_open' | 'open' }[];
}

export type GaugeSource = () => GaugeReadings;

/** Readings when nothing is running (before the tree starts). */
export const NO_GAUGES: GaugeSource = () => ({ queueDepth: 0, sessions: 0, inFlight: 0, dlqSize: 0, cacheEntries: 0, cacheEvicted: 0, breakers: [] });

/** Prometheus value of a breaker state: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
