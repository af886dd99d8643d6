import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineChart } from '../../src/statecharts/machines.js';
import { startStack, type Stack } from '../support/stack.js';

const ADMIN_KEY = 'admin-key-for-observability';

describe('observability over HTTP: the dashboard files, its manifest, /admin/machines, the admin guard', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { OPTIMIZER_ADMIN_KEY: ADMIN_KEY }, config: { admin: { keyEnv: 'OPTIMIZER_ADMIN_KEY' } } });
  });
  afterAll(() => stack.close());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${stack.optimizer.url}${path}`, { headers });
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };

  it('serves the dashboard page and its files without the key (they hold no data), with a policy that allows nothing foreign', async () => {
    for (const path of ['/dashboard', '/dashboard/']) {
      const page = await get(path);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await page.text();
      expect(html).toContain('<script type="module" src="/dashboard/dashboard.js">');
      expect(html).not.toMatch(/https?:\/\//);
    }
    for (const [file, type] of [
      ['dashboard.js', 'text/javascript; charset=utf-8'],
      ['charts.js', 'text/javascript; charset=utf-8'],
      ['statechart.js', 'text/javascript; charset=utf-8'],
      ['dashboard.css', 'text/css; charset=utf-8'],
    ]) {
      const response = await get(`/dashboard/${file}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(type);
      expect(await response.text()).not.toMatch(/(src|href)=["']https?:/);
    }
    for (const path of ['/dashboard/nope.js', '/dashboard/../package.json', '/dashboard/%2e%2e%2fpackage.json', '/dashboard/public/index.html']) {
      expect((await get(path)).status).toBe(404);
    }
  });

  it('tells the page that a key is needed and which endpoints exist', async () => {
    const manifest = (await (await get('/dashboard/manifest.json')).json()) as { adminKeyRequired: boolean; endpoints: Record<string, boolean> };
    expect(manifest.adminKeyRequired).toBe(true);
    expect(typeof manifest.endpoints.stats).toBe('boolean');
  });

  it('guards the event stream, the alerts and the machines with the admin key', async () => {
    for (const path of ['/admin/events', '/admin/events/subscribers', '/admin/alerts', '/admin/machines']) {
      const refused = await get(path);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ADMIN_FORBIDDEN');
    }
    const events = await get('/admin/events?topics=breaker.*', admin);
    expect(events.status).toBe(200);
    await events.body?.cancel();
    expect((await get('/admin/alerts', admin)).status).toBe(200);
  });

  it('GET /admin/machines: every machine as Mermaid and as a chart', async () => {
    const machines = (await (await get('/admin/machines', admin)).json()) as Record<string, MachineChart>;
    expect(Object.keys(machines).sort()).toEqual(['backend', 'breaker', 'router', 'session', 'supervisor']);
    expect(machines.breaker!.mermaid).toMatch(/^stateDiagram-v2\n/);
    expect(machines.breaker!.chart.states.map((s) => s.id)).toEqual(['closed', 'open', 'half_open']);
  });

  // Regression: a handler that threw before its first await (here a bad `limit`) escaped the
  // request listener as an uncaught exception, which ends the process.
  it('answers a bad /admin/dlq limit with 400 instead of crashing', async () => {
    const response = await get('/admin/dlq?limit=abc', admin);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: 'INVALID_REQUEST', param: 'limit' });
    expect((await get('/health')).status).toBe(200);
  });
});
