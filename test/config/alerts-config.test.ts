import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { ALERT_RULE_DEFAULTS, DEFAULTS } from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/load.js';

let dir: string;
let counter = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'optimizer-alerts-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(content: unknown) {
  const file = join(dir, `config-${++counter}.json`);
  writeFileSync(file, JSON.stringify(content));
  return loadConfig({ configPath: file }, {});
}

function problems(content: unknown): string[] {
  try {
    load(content);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('config: events and alerts', () => {
  it('has defaults: a bounded subscriber buffer, heartbeats, and default rules', () => {
    const config = load({});
    expect(config.events).toEqual(DEFAULTS.events);
    expect(config.alerts.rules.map((r) => r.kind)).toEqual(['error_rate', 'limit_saturated', 'breaker_open', 'dlq_growth']);
    expect(config.alerts.webhookUrl).toBeUndefined();
  });

  it('fills each rule from its kind’s defaults; the file’s rules replace the default ones', () => {
    const config = load({ alerts: { rules: [{ id: 'hits', kind: 'cache_hit_rate', below: 0.4 }, { id: 'open', kind: 'breaker_open' }] } });
    expect(config.alerts.rules).toEqual([
      { id: 'hits', kind: 'cache_hit_rate', below: 0.4, windowMs: ALERT_RULE_DEFAULTS.cache_hit_rate.windowMs, minRequests: ALERT_RULE_DEFAULTS.cache_hit_rate.minRequests },
      { id: 'open', kind: 'breaker_open', forMs: ALERT_RULE_DEFAULTS.breaker_open.forMs },
    ]);
  });

  it('refuses fields a kind does not use, duplicate ids, unknown kinds and two webhook sources, naming each', () => {
    expect(
      problems({
        alerts: {
          webhookUrl: 'http://127.0.0.1:9/hook',
          webhookUrlEnv: 'HOOK_URL',
          rules: [
            { id: 'a', kind: 'breaker_open', threshold: 0.5 },
            { id: 'a', kind: 'dlq_growth' },
            { id: 'b', kind: 'latency' },
            { id: 'c', kind: 'error_rate', threshold: 1.5 },
          ],
        },
        events: { subscriberBufferSize: 0 },
      }),
    ).toEqual(
      expect.arrayContaining([
        '/alerts/rules/0/threshold: is not used by kind "breaker_open" (it uses: forMs)',
        '/alerts/rules/1/id: duplicate alert rule id "a" (first at /alerts/rules/0)',
        expect.stringMatching(/^\/alerts\/rules\/2\/kind: must be one of/),
        '/alerts/rules/3/threshold: must be <= 1',
        '/alerts/webhookUrl: set either webhookUrl or webhookUrlEnv, not both',
        '/events/subscriberBufferSize: must be >= 1',
      ]),
    );
  });
});
