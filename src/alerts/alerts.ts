import { Secret } from '../config/secret.js';
import { readSecret } from '../config/secrets.js';
import type { OptimizerConfig } from '../config/types.js';
import { realClock, type Clock } from '../limits/clock.js';
import type { Logger } from '../log/logger.js';
import type { EventBus } from '../telemetry/event-bus.js';
import { AlertEngine, type Alert } from './engine.js';
import type { Gauges } from './rules.js';
import { AlertWebhook, type WebhookStats } from './webhook.js';

/** The running alerts of one optimizer: the engine and, when configured, its webhook. */
export interface Alerts {
  readonly engine: AlertEngine;
  readonly webhook: AlertWebhook | undefined;
  /** What `GET /admin/alerts` answers. */
  report(): { active: Alert[]; recent: Alert[]; rules: OptimizerConfig['alerts']['rules']; webhook: WebhookStats | null };
  stop(): void;
}

export interface AlertsDeps {
  config: OptimizerConfig;
  bus: EventBus;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  gauges: Gauges;
  clock?: Clock;
}

/** Starts the alert engine from `alerts` in the config, with the webhook when one is set. */
export function startAlerts(deps: AlertsDeps): Alerts {
  const { config, logger } = deps;
  const { alerts } = config;
  const url = alerts.webhookUrlEnv !== undefined ? readSecret(alerts.webhookUrlEnv, deps.env) : alerts.webhookUrl;
  if (alerts.webhookUrlEnv !== undefined && url === undefined) {
    logger.warn({ env: alerts.webhookUrlEnv }, `alerts.webhookUrlEnv names ${alerts.webhookUrlEnv}, which is unset: alerts are not sent to a webhook`);
  }
  let webhook: AlertWebhook | undefined;
  if (url !== undefined) {
    try {
      webhook = new AlertWebhook({ url: new Secret(url), timeoutMs: alerts.webhookTimeoutMs, logger });
    } catch {
      logger.error({ env: alerts.webhookUrlEnv }, 'the alert webhook URL is not an http(s) URL: alerts are not sent to a webhook');
    }
  }
  const engine = new AlertEngine({
    bus: deps.bus,
    rules: alerts.rules,
    clock: deps.clock ?? realClock,
    gauges: deps.gauges,
    evaluateIntervalMs: alerts.evaluateIntervalMs,
    ...(webhook ? { onChange: (type: 'alert.raised' | 'alert.resolved', alert: Alert) => webhook.notify(type, alert) } : {}),
  });
  engine.start();
  return {
    engine,
    webhook,
    report: () => ({ active: engine.active(), recent: engine.recent(), rules: alerts.rules, webhook: webhook?.stats() ?? null }),
    stop: () => {
      engine.stop();
      webhook?.close();
    },
  };
}
