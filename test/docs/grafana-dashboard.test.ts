import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';
import { familyOf, parsePrometheus, type Exposition } from '../support/prometheus.js';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
}

const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as Dashboard;

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}
const panels = allPanels(dashboard.panels);
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

describe('docs/grafana-dashboard.json', () => {
  let stack: Stack;
  let exposition: Exposition;

  beforeAll(async () => {
    stack = await startStack();
    // One answered request, so the histogram and the per-request series have samples too.
    const answer = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'grafana' },
      body: JSON.stringify({ model: 'main/test-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(answer.status).toBe(200);
    exposition = parsePrometheus(await (await fetch(`${stack.optimizer.url}/metrics`)).text());
  });
  afterAll(() => stack?.close());

  it('is a Grafana dashboard model: title, uid, schema version, panels with unique ids and a grid position', () => {
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos.w, p.title).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    }
  });

  it('queries the Prometheus data source chosen in its `datasource` variable, and only variables it defines', () => {
    const variables = new Set(dashboard.templating.list.map((v) => v.name));
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets ?? []) {
        for (const [, name] of t.expr.matchAll(/\$(\w+)/g)) {
          if (!name!.startsWith('__')) expect(variables, `${p.title}: $${name}`).toContain(name);
        }
      }
    }
  });

  it('has a panel for each thing an operator watches', () => {
    const text = queries.map((q) => q.expr).join('\n');
    for (const needed of [
      'optimizer_requests_total',
      'optimizer_cache_hits_total',
      'optimizer_dedupe_joins_total',
      'optimizer_cost_usd_total',
      'optimizer_cost_saved_usd_total',
      'optimizer_request_duration_seconds_bucket',
      'optimizer_upstream_errors_total',
      'optimizer_breaker_state',
      'optimizer_queue_depth',
    ]) {
      expect(text).toContain(needed);
    }
    expect(text).toMatch(/histogram_quantile\(0\.95, sum by \(le, source\)/);
  });

  it('queries only metrics that GET /metrics exports, in well-formed expressions', () => {
    expect(queries.length).toBeGreaterThan(20);
    for (const { panel, expr } of queries) {
      let depth = 0;
      for (const c of expr) {
        if (c === '(' || c === '{' || c === '[') depth++;
        if (c === ')' || c === '}' || c === ']') depth--;
        expect(depth, `${panel}: ${expr}`).toBeGreaterThanOrEqual(0);
      }
      expect(depth, `${panel}: ${expr}`).toBe(0);
      const names = [...expr.matchAll(/\boptimizer_[a-z0-9_]+/g)].map((m) => m[0]);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(familyOf(exposition, name), `${panel}: ${name} is not in /metrics`).toBeDefined();
    }
  });
});
