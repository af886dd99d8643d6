import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

/** Debian's chromium (apt), or the one CHROMIUM_PATH names. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('the dashboard in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  /** Console errors and uncaught page errors, collected for the whole visit. */
  const problems: string[] = [];
  /** Requests the page tried to make anywhere but the optimizer. */
  const foreign: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH. The dashboard test does not skip.`);
    }
    stack = await startStack({
      upstreams: { main: {}, flaky: {} },
      config: {
        log: { level: 'info' },
        dedupe: { enabled: false },
        alerts: { rules: [{ id: 'dead-letters', kind: 'dlq_growth', count: 1 }] },
        resilience: { retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 }, breaker: { failureThreshold: 1, cooldownMs: 600_000, maxCooldownMs: 600_000 } },
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const context = await browser.newContext();
    // Nothing but the optimizer on loopback: a CDN or any other host would fail here.
    await context.route('**/*', (route) => {
      const { hostname } = new URL(route.request().url());
      if (hostname === '127.0.0.1') return route.continue();
      foreign.push(route.request().url());
      return route.abort();
    });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const chat = (content: string, headers: Record<string, string> = {}, model = 'main/test-model') =>
    fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'dash-agent', ...headers },
      body: JSON.stringify({ model, temperature: 0, messages: [{ role: 'user', content }] }),
    });

  /** Waits until the element's text is `text` (the page's policy forbids evaluating strings in it, so poll from here). */
  const hasText = (selector: string, text: string) => expect.poll(() => page.textContent(selector), { timeout: 10_000, interval: 50 }).toBe(text);

  it('shows live numbers from the event stream, the breakers as statecharts, alerts, drawn charts, and no console errors', async () => {
    await page.goto(`${stack.optimizer.url}/dashboard`);
    // The event stream is connected and health is shown.
    await page.waitForSelector('#live[data-live="on"]');
    await page.waitForSelector('#status[data-status="ok"]');
    expect(await page.textContent('#calls')).toBe('0');

    // Both breakers are drawn closed.
    await page.waitForSelector('figure.statechart[data-backend="main"][data-state="closed"] .node.current[data-state="closed"]');
    await page.waitForSelector('figure.statechart[data-backend="flaky"][data-state="closed"]');

    // Calls made now change the numbers on the page (a miss, a hit of the same question, another miss).
    for (const content of ['first', 'first', 'second']) expect((await chat(content)).status).toBe(200);
    await hasText('#calls', '3');
    await hasText('#hit-rate', '33.3%');

    // A failing backend opens its breaker: the page highlights `open` in that backend's statechart.
    stack.upstreams.flaky!.setDefault({ kind: 'status', status: 500 });
    expect((await chat('to flaky', {}, 'flaky/test-model')).status).toBe(502);
    await page.waitForSelector('figure.statechart[data-backend="flaky"][data-state="open"] .node.current[data-state="open"]');
    await hasText('#calls', '4');
    await hasText('#errors', '1');
    expect(await page.textContent('#backends tr[data-backend="flaky"]')).toContain('open');
    // The failed call was dead-lettered: the alert it raised is shown.
    await page.waitForSelector('#alerts .alert[data-alert="dead-letters"]');
    await hasText('#dlq-size', '1');

    // Charts are drawn, not only tables: bars in the timeline and the breakdowns, an area for the live rate.
    // (A minute without calls has a bar of height 0; with /admin/stats the timeline spans the last hour.)
    await page.waitForSelector('#timeline rect.bar-calls:not([height="0"])');
    expect(await page.locator('#timeline rect.bar-hits').count()).toBeGreaterThan(0);
    expect(await page.locator('#timeline path.line-rate').count()).toBe(1);
    expect(await page.locator('#rate-chart path.area').count()).toBe(1);
    expect(await page.textContent('#by-agent')).toContain('dash-agent');
    expect(await page.locator('#by-backend rect.bar-fail').count()).toBeGreaterThan(0);
    expect(await page.locator('#hit-donut circle.arc').count()).toBeGreaterThan(0);
    // The other machines are drawn too (from GET /admin/machines).
    expect(await page.locator('#machines figure.statechart svg .node').count()).toBeGreaterThan(5);

    // The live event list shows the breaker opening.
    expect(await page.textContent('#events')).toContain('breaker.opened');

    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });
});
