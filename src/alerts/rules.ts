import type { AlertRule } from '../config/types.js';
import { ERRORS } from '../errors/registry.js';
import type { OptimizerEvent } from '../telemetry/event-bus.js';
import { SlidingCounts } from './window.js';

/** One condition a rule reports at an evaluation: firing or not, for one key (the rule, or the rule and a backend). */
export interface Condition {
  /** `<ruleId>` or `<ruleId>:<backend>`: one alert per key. */
  key: string;
  firing: boolean;
  /** The measured value (a rate, a count, a duration in ms) and the threshold it is compared with. */
  value: number;
  threshold: number;
  /**
   * What the condition says, in words: a function, because conditions are checked on every event a
   * rule watches (every request, for the default rules) and the text is needed only when an alert
   * is raised or is active.
   */
  message: () => string;
  labels: Record<string, string>;
}

/** What the engine needs to know of the process at an evaluation besides events. */
export interface Gauges {
  /** Requests waiting for a limit now. */
  queueDepth(): number;
}

/** A rule at work: the events it watches, what it makes of them, and its conditions now. */
export interface RuleEvaluator {
  readonly rule: AlertRule;
  /** Bus topic patterns this rule listens to. */
  readonly topics: readonly string[];
  observe(event: OptimizerEvent, now: number): void;
  conditions(now: number, gauges: Gauges): Condition[];
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** A request's outcome (`request.completed`) is a server-side error when its code answers with status ≥ 500. */
export function isServerError(outcome: unknown): boolean {
  if (typeof outcome !== 'string' || outcome === 'ok' || outcome === 'cache.hit' || outcome === 'dedupe.joined') return false;
  const definition = (ERRORS as Record<string, { status: number } | undefined>)[outcome];
  return definition !== undefined && definition.status >= 500;
}

/** The evaluator of one configured rule. */
export function evaluatorFor(rule: AlertRule): RuleEvaluator {
  switch (rule.kind) {
    case 'error_rate': {
      const window = new SlidingCounts(rule.windowMs);
      return {
        rule,
        topics: ['request.completed'],
        observe: (event, now) => window.record(now, isServerError(event.outcome)),
        conditions: (now) => {
          const { total, marked } = window.counts(now);
          const rate = total === 0 ? 0 : marked / total;
          return [
            {
              key: rule.id,
              firing: total >= rule.minRequests && rate >= rule.threshold,
              value: rate,
              threshold: rule.threshold,
              message: () => `${percent(rate)} of ${total} requests failed with a server-side error in the last ${seconds(rule.windowMs)} (alert at ${percent(rule.threshold)})`,
              labels: {},
            },
          ];
        },
      };
    }
    case 'cache_hit_rate': {
      const window = new SlidingCounts(rule.windowMs);
      return {
        rule,
        topics: ['cache.hit', 'cache.miss'],
        observe: (event, now) => window.record(now, event.type === 'cache.hit'),
        conditions: (now) => {
          const { total, marked } = window.counts(now);
          const rate = total === 0 ? 1 : marked / total;
          return [
            {
              key: rule.id,
              firing: total >= rule.minRequests && rate < rule.below,
              value: rate,
              threshold: rule.below,
              message: () => `cache hit rate ${percent(rate)} over ${total} lookups in the last ${seconds(rule.windowMs)} (alert below ${percent(rule.below)})`,
              labels: {},
            },
          ];
        },
      };
    }
    case 'limit_saturated': {
      const window = new SlidingCounts(rule.windowMs);
      return {
        rule,
        topics: ['ratelimit.rejected'],
        observe: (_event, now) => window.record(now, true),
        conditions: (now, gauges) => {
          const rejected = window.counts(now).total;
          const depth = rule.queueDepth === undefined ? 0 : gauges.queueDepth();
          const deep = rule.queueDepth !== undefined && depth >= rule.queueDepth;
          const message = () =>
            deep
              ? `${depth} requests are waiting for a rate limit (alert at ${rule.queueDepth}); ${rejected} rejected in the last ${seconds(rule.windowMs)}`
              : `${rejected} requests rejected by the rate limits in the last ${seconds(rule.windowMs)} (alert at ${rule.rejections})`;
          return [{ key: rule.id, firing: rejected >= rule.rejections || deep, value: deep ? depth : rejected, threshold: deep ? rule.queueDepth! : rule.rejections, message, labels: {} }];
        },
      };
    }
    case 'dlq_growth': {
      const window = new SlidingCounts(rule.windowMs);
      return {
        rule,
        topics: ['dlq.enqueued'],
        observe: (_event, now) => window.record(now, true),
        conditions: (now) => {
          const added = window.counts(now).total;
          return [
            {
              key: rule.id,
              firing: added >= rule.count,
              value: added,
              threshold: rule.count,
              message: () => `${added} requests dead-lettered in the last ${seconds(rule.windowMs)} (alert at ${rule.count})`,
              labels: {},
            },
          ];
        },
      };
    }
    case 'breaker_open': {
      /** backend → when its breaker opened (undefined once it closed again). */
      const openSince = new Map<string, number | undefined>();
      return {
        rule,
        topics: ['breaker.opened', 'breaker.closed'],
        observe: (event, now) => {
          const backend = String(event.backendId);
          // Reopening from half-open does not restart the clock: the breaker has not closed since.
          if (event.type === 'breaker.opened') openSince.set(backend, openSince.get(backend) ?? now);
          else openSince.set(backend, undefined);
        },
        conditions: (now) =>
          [...openSince].map(([backend, since]) => {
            const openMs = since === undefined ? 0 : now - since;
            return {
              key: `${rule.id}:${backend}`,
              firing: since !== undefined && openMs >= rule.forMs,
              value: openMs,
              threshold: rule.forMs,
              message: () => `backend ${backend}'s circuit breaker has been open for ${seconds(openMs)} (alert after ${seconds(rule.forMs)})`,
              labels: { backend },
            };
          }),
      };
    }
  }
}
