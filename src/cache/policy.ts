import type { OptimizerConfig } from '../config/types.js';
import type { GatewayRequest } from '../gateway/types.js';

/** What the cache and the dedupe may do for one request. */
export interface CachePolicy {
  /** Answer from the cache when it holds the key. */
  read: boolean;
  /** Store the answer when it completes cleanly. */
  write: boolean;
  /** Join an identical request in flight. */
  joinInFlight: boolean;
  /** Answer from an identical request that finished within `dedupe.windowMs`. */
  joinRecent: boolean;
  /** How long a stored answer is served. */
  ttlMs: number;
  /** Why the cache is not used, for `x-cache: bypass` debugging. */
  reason: string;
}

export interface CacheDirectives {
  noStore: boolean;
  noCache: boolean;
  /** `max-age=N`, in ms. */
  maxAgeMs: number | undefined;
}

/** Parses the `Cache-Control` directives the optimizer honours. */
export function parseCacheControl(value: string | undefined): CacheDirectives {
  const directives: CacheDirectives = { noStore: false, noCache: false, maxAgeMs: undefined };
  if (!value) return directives;
  for (const part of value.toLowerCase().split(',')) {
    const directive = part.trim();
    if (directive === 'no-store') directives.noStore = true;
    else if (directive === 'no-cache') directives.noCache = true;
    else if (directive.startsWith('max-age=')) {
      const seconds = Number(directive.slice('max-age='.length));
      if (Number.isFinite(seconds) && seconds >= 0) directives.maxAgeMs = Math.round(seconds * 1000);
    }
  }
  return directives;
}

/**
 * The rules of DESIGN.md §2: only deterministic requests are cached by default
 * (temperature 0, or a seed), or any request of an agent or model that opted in, or one
 * that sets `Cache-Control: max-age`; `no-store` bypasses cache and dedupe alike;
 * `no-cache` refreshes (no cache read, no recent answer, but the fresh answer is stored);
 * `max-age=0` does not store. Dedupe is wider than the cache: it applies whatever the
 * temperature, because in a fleet a duplicate is redundant work.
 */
export function cachePolicy(
  config: Pick<OptimizerConfig, 'cache' | 'dedupe'>,
  req: Pick<GatewayRequest, 'agentId' | 'hints'>,
  model: string,
  deterministic: boolean,
): CachePolicy {
  const directives = parseCacheControl(req.hints.cacheControl);
  const { cache, dedupe } = config;
  if (directives.noStore) {
    return { read: false, write: false, joinInFlight: false, joinRecent: false, ttlMs: 0, reason: 'no-store' };
  }
  const optedIn = cache.optIn.agents.includes(req.agentId) || cache.optIn.models.includes(model) || directives.maxAgeMs !== undefined;
  const eligible = cache.enabled && (deterministic || optedIn);
  const ttlMs = directives.maxAgeMs ?? cache.ttlMs;
  return {
    read: eligible && !directives.noCache,
    write: eligible && ttlMs > 0,
    joinInFlight: dedupe.enabled,
    joinRecent: dedupe.enabled && dedupe.windowMs > 0 && !directives.noCache,
    ttlMs,
    reason: !cache.enabled ? 'cache disabled' : eligible ? (directives.noCache ? 'no-cache' : 'cacheable') : 'not deterministic',
  };
}
