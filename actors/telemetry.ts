import { fromCallback } from 'xstate';
import type { Runtime } from './runtime.js';

/** Events written to the JSONL log at `info`; the per-request ones go at `debug` to keep the hot path quiet. */
const PER_REQUEST = new Set(['request.received', 'request.completed', 'cache.hit', 'cache.miss', 'dedupe.joined']);

/**
 * Telemetry: the raw event log. Every bus event becomes one JSON line through pino
 * (metrics and the dashboard subscribe to the same bus in later issues).
 */
export const telemetryActor = fromCallback<{ type: string }, { runtime: Runtime }>(({ input }) => {
  const { bus, logger } = input.runtime;
  const log = logger.child({ component: 'events' });
  const debug = log.isLevelEnabled('debug');
  return bus.subscribe('*', (event) => {
    if (PER_REQUEST.has(event.type)) {
      if (debug) log.debug({ event }, event.type);
    } else log.info({ event }, event.type);
  });
});
