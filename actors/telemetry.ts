import { fromCallback } from 'xstate';
import { startAlerts } from '../src/alerts/alerts.js';
import type { Runtime } from './runtime.js';

/** Events written to the JSONL log at `info`; the per-request ones go at `debug` to keep the hot path quiet. */
const PER_REQUEST = new Set(['request.received', 'request.completed', 'cache.hit', 'cache.miss', 'dedupe.joined', 'backend.succeeded', 'ratelimit.queued']);
/** The domains logged at `info`: what operators need to see (DESIGN.md §4 minus the per-request events). */
const OPERATIONAL_TOPICS = ['actor.*', 'supervisor.*', 'backend.failed', 'backend.failover', 'breaker.*', 'ratelimit.rejected', 'dlq.*', 'alert.*'];

/**
 * Telemetry: the raw event log (every bus event becomes one JSON line through pino: the
 * per-request ones at `debug`, the rest at `info`), the metrics, attached to the bus while this
 * actor runs (their counts live in `runtime.metrics` and outlive its restarts; stopping it
 * writes the pending roll-ups), and the alert engine (src/alerts/), which evaluates its rules
 * from the same bus.
 */
export const telemetryActor = fromCallback<{ type: string }, { runtime: Runtime }>(({ input }) => {
  const { runtime } = input;
  const { bus, logger } = runtime;
  const log = logger.child({ component: 'events' });
  const detachMetrics = input.runtime.metrics?.attach(bus);
  const alerts = startAlerts({ config: runtime.config, bus, logger, env: runtime.env, gauges: { queueDepth: () => runtime.limiter.queueDepth() } });
  runtime.alerts = alerts;
  // Per-request events are only listened to when they will be written: with nobody
  // listening, publishing them costs the request path a map lookup.
  const pattern = log.isLevelEnabled('debug') ? '*' : undefined;
  const unsubscribe = pattern
    ? [
        bus.subscribe(pattern, (event) => {
          if (PER_REQUEST.has(event.type)) log.debug({ event }, event.type);
          else log.info({ event }, event.type);
        }),
      ]
    : OPERATIONAL_TOPICS.map((topic) => bus.subscribe(topic, (event) => log.info({ event }, event.type)));
  return () => {
    unsubscribe.forEach((stop) => stop());
    detachMetrics?.();
    alerts.stop();
    if (runtime.alerts === alerts) runtime.alerts = undefined;
  };
});
