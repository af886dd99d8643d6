import type { AlertRule, AlertRuleKind } from '../config/types.js';
import type { Clock } from '../limits/clock.js';
import type { EventBus } from '../telemetry/event-bus.js';
import { evaluatorFor, type Condition, type Gauges, type RuleEvaluator } from './rules.js';

/** One alert: raised when its rule's condition starts to hold, resolved when it stops. */
export interface Alert {
  /** `<ruleId>` or `<ruleId>:<backend>`. */
  key: string;
  rule: string;
  kind: AlertRuleKind;
  message: string;
  value: number;
  threshold: number;
  labels: Record<string, string>;
  /** Engine clock, ms. */
  raisedAt: number;
  resolvedAt?: number;
}

export interface AlertEngineOptions {
  bus: EventBus;
  rules: readonly AlertRule[];
  /** Time of the windows and of `raisedAt` (ManualClock in tests). */
  clock: Clock;
  gauges?: Gauges;
  /** How often time-based conditions are re-evaluated (a breaker staying open, a window emptying). */
  evaluateIntervalMs: number;
  /** Told of every raise and resolve, after it is published on the bus (the webhook). */
  onChange?: (type: 'alert.raised' | 'alert.resolved', alert: Alert) => void;
  /** Resolved alerts kept for `recent()`. */
  historySize?: number;
}

const NO_GAUGES: Gauges = { queueDepth: () => 0 };

/**
 * Evaluates the alert rules from bus events. Each event a rule watches updates that rule
 * and re-checks it at once; a timer on the injected clock re-checks every rule, for the
 * conditions that change with time alone. A condition that starts to hold raises its
 * alert once (`alert.raised` on the bus); it is not raised again until it has stopped
 * holding and been resolved (`alert.resolved`).
 */
export class AlertEngine {
  readonly #evaluators: RuleEvaluator[];
  readonly #active = new Map<string, Alert>();
  readonly #recent: Alert[] = [];
  readonly #stops: (() => void)[] = [];
  #timer: unknown;
  #running = false;

  constructor(private readonly options: AlertEngineOptions) {
    this.#evaluators = options.rules.map(evaluatorFor);
  }

  /** Subscribes to the topics the rules need (only those) and starts the re-evaluation timer. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const { bus, clock } = this.options;
    for (const evaluator of this.#evaluators) {
      for (const topic of evaluator.topics) {
        this.#stops.push(
          bus.subscribe(topic, (event) => {
            const now = clock.now();
            evaluator.observe(event, now);
            this.#apply(evaluator, now);
          }),
        );
      }
    }
    if (this.#evaluators.length > 0) this.#arm();
  }

  stop(): void {
    this.#running = false;
    for (const stop of this.#stops.splice(0)) stop();
    if (this.#timer !== undefined) this.options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Re-checks every rule now. */
  evaluate(): void {
    const now = this.options.clock.now();
    for (const evaluator of this.#evaluators) this.#apply(evaluator, now);
  }

  /** Alerts raised and not resolved, oldest first. */
  active(): Alert[] {
    return [...this.#active.values()];
  }

  /** Resolved alerts, newest first. */
  recent(): Alert[] {
    return [...this.#recent];
  }

  get rules(): readonly AlertRule[] {
    return this.options.rules;
  }

  #arm(): void {
    const { clock, evaluateIntervalMs } = this.options;
    this.#timer = clock.setTimeout(() => {
      if (!this.#running) return;
      this.evaluate();
      this.#arm();
    }, evaluateIntervalMs);
  }

  #apply(evaluator: RuleEvaluator, now: number): void {
    for (const condition of evaluator.conditions(now, this.options.gauges ?? NO_GAUGES)) {
      const current = this.#active.get(condition.key);
      if (condition.firing && !current) this.#raise(evaluator.rule, condition, now);
      else if (!condition.firing && current) this.#resolve(current, condition, now);
      else if (current) {
        // Still firing: keep the numbers fresh for /admin/alerts, without a new event.
        current.value = condition.value;
        current.message = condition.message();
      }
    }
  }

  #raise(rule: AlertRule, condition: Condition, now: number): void {
    const alert: Alert = {
      key: condition.key,
      rule: rule.id,
      kind: rule.kind,
      message: condition.message(),
      value: condition.value,
      threshold: condition.threshold,
      labels: condition.labels,
      raisedAt: now,
    };
    this.#active.set(alert.key, alert);
    this.#publish('alert.raised', alert);
  }

  #resolve(alert: Alert, condition: Condition, now: number): void {
    this.#active.delete(alert.key);
    const resolved: Alert = { ...alert, value: condition.value, resolvedAt: now };
    this.#recent.unshift(resolved);
    this.#recent.length = Math.min(this.#recent.length, this.options.historySize ?? 50);
    this.#publish('alert.resolved', resolved);
  }

  #publish(type: 'alert.raised' | 'alert.resolved', alert: Alert): void {
    this.options.bus.publish(type, { alert: { ...alert } });
    try {
      this.options.onChange?.(type, alert);
    } catch {
      // The webhook's trouble is the webhook's: alerts go on.
    }
  }
}
