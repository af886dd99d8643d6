import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/engine.js';
import type { WebhookStats } from '../../src/alerts/webhook.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const TOKEN = 'hook-token-6f1d2b';

/** A loopback webhook receiver: records what it is sent; `mode` makes it fail. */
async function startWebhook() {
  const received: { path: string; body: { type: string; alert: Alert } }[] = [];
  const state = { mode: 'ok' as 'ok' | 'hang' };
  const hanging: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      if (state.mode === 'hang') {
        hanging.push(req);
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(text) as { type: string; alert: Alert } });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    state,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('alerts: rules over the bus, GET /admin/alerts, the webhook', () => {
  let stack: Stack;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;

  beforeAll(async () => {
    webhook = await startWebhook();
    stack = await startStack({
      upstreams: { main: {}, other: {} },
      env: { ALERT_WEBHOOK_URL: `${webhook.url}/hooks/${TOKEN}` },
      config: {
        log: { level: 'info' },
        dedupe: { enabled: false },
        cache: { enabled: false },
        resilience: { retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 }, breaker: { failureThreshold: 1, cooldownMs: 600_000, maxCooldownMs: 600_000 } },
        alerts: {
          rules: [
            { id: 'dead-letters', kind: 'dlq_growth', count: 1 },
            { id: 'breaker-open', kind: 'breaker_open', forMs: 0 },
          ],
          webhookUrlEnv: 'ALERT_WEBHOOK_URL',
          webhookTimeoutMs: 300,
        },
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await webhook.close();
  });

  const chat = (model: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
  const alerts = async () =>
    (await (await fetch(`${stack.optimizer.url}/admin/alerts`)).json()) as { active: Alert[]; recent: Alert[]; rules: { id: string }[]; webhook: WebhookStats };

  it('raises alerts from real failures, lists them, and POSTs them to the webhook', async () => {
    expect((await alerts()).active).toEqual([]);
    stack.upstreams.main!.setDefault({ kind: 'status', status: 500 });
    expect((await chat('main/test-model')).status).toBe(502);

    await eventually(async () => (await alerts()).active.length === 2, 3000, 'two active alerts');
    const report = await alerts();
    expect(report.active.map((a) => a.key).sort()).toEqual(['breaker-open:main', 'dead-letters']);
    expect(report.rules.map((r) => r.id)).toEqual(['dead-letters', 'breaker-open']);
    // The rule took its kind's default window.
    expect(report.rules[0]).toMatchObject({ kind: 'dlq_growth', count: 1, windowMs: 300_000 });

    await eventually(() => webhook.received.length === 2, 3000, 'two webhook posts');
    expect(webhook.received.every((r) => r.path === `/hooks/${TOKEN}` && r.body.type === 'alert.raised')).toBe(true);
    expect(webhook.received.map((r) => r.body.alert.key).sort()).toEqual(['breaker-open:main', 'dead-letters']);
    expect((await alerts()).webhook).toMatchObject({ target: webhook.url, sent: 2, failed: 0, pending: 0 });
    // Raised once: another failure (pinned to the open breaker) raises nothing new.
    expect((await chat('main/test-model', { 'x-backend': 'main' })).status).toBeGreaterThanOrEqual(500);
    // A raise would have queued a post synchronously, before the answer went out.
    expect((await alerts()).webhook).toMatchObject({ sent: 2, pending: 0, failed: 0 });
    expect(webhook.received).toHaveLength(2);
    // The alert events are in the log (alert.* is operational).
    expect(stack.logs.some((l) => l.includes('"alert.raised"') && l.includes('dead-letters'))).toBe(true);
  });

  it('a webhook that hangs never holds up requests; the failure is logged without the URL', async () => {
    webhook.state.mode = 'hang';
    stack.upstreams.other!.setDefault({ kind: 'status', status: 500 });
    expect((await chat('other/test-model')).status).toBe(502);
    // The optimizer still answers while the webhook hangs.
    stack.upstreams.other!.setDefault({ kind: 'ok' });
    expect((await fetch(`${stack.optimizer.url}/health`)).status).toBe(200);

    await eventually(async () => (await alerts()).webhook.failed === 1, 5000, 'the webhook failure');
    const { webhook: stats, active } = await alerts();
    expect(active.map((a) => a.key)).toContain('breaker-open:other');
    expect(stats.lastError).toMatch(/^(TimeoutError|AbortError|UND_ERR_\w+)$/);
    const failure = stack.logs.find((l) => l.includes('alert.webhook_failed'));
    expect(failure).toBeDefined();
    expect(failure).toContain(webhook.url);
    expect(stack.logs.some((l) => l.includes(TOKEN))).toBe(false);
  });
});
