import { readFileSync, readdirSync } from 'node:fs';
import { setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { breakerMachine } from '../../machines/breaker.machine.js';
import { statechartFiles } from '../../src/statecharts/export.js';
import { toMermaid } from '../../src/statecharts/mermaid.js';
import { statechartOf } from '../../src/statecharts/model.js';

describe('statechartOf', () => {
  const chart = statechartOf(breakerMachine);

  it('reads every state of the breaker, with closed initial', () => {
    expect(chart.id).toBe('breaker');
    expect(chart.initial).toBe('closed');
    expect(chart.states.map((s) => [s.id, s.type])).toEqual([
      ['closed', 'atomic'],
      ['open', 'atomic'],
      ['half_open', 'atomic'],
    ]);
  });

  it('reads every transition of the breaker: events, guards (combined ones too), targets, the cooldown delay', () => {
    const arrows = chart.transitions.filter((t) => t.target !== undefined).map((t) => `${t.source} -${t.event}${t.guard ? `[${t.guard}]` : ''}-> ${t.target}`);
    expect(arrows).toEqual([
      'closed -breaker.outcome[reachesFailureThreshold]-> open',
      'closed -breaker.outcome[reachesErrorRate]-> open',
      'open -after cooldown-> half_open',
      'half_open -breaker.outcome[isProbe && succeeded]-> closed',
      'half_open -breaker.outcome[isProbe && failed]-> open',
    ]);
    // Every event the machine handles, in every state that handles it.
    const handled = new Set(chart.transitions.map((t) => `${t.source}:${t.event}`));
    expect([...handled].sort()).toEqual(['closed:breaker.acquire', 'closed:breaker.outcome', 'half_open:breaker.acquire', 'half_open:breaker.outcome', 'open:after cooldown', 'open:breaker.acquire'].sort());
    expect(chart.transitions.find((t) => t.guard === 'reachesFailureThreshold')!.actions).toEqual(['recordFailure', 'open']);
    expect(chart.transitions.find((t) => t.event === 'after cooldown')).toMatchObject({ kind: 'after', source: 'open', target: 'half_open' });
  });

  it('reads nested states, eventless transitions, invocations, final states and the machine’s own transitions', () => {
    const machine = setup({ guards: { ready: () => true }, actors: {} }).createMachine({
      id: 'demo',
      initial: 'outer',
      on: { reset: '.done', ping: { actions: [] } },
      states: {
        outer: {
          initial: 'a',
          states: { a: { on: { next: 'b' } }, b: { always: { guard: 'ready', target: '#demo.done' } } },
        },
        done: { type: 'final' },
      },
    });
    const demo = statechartOf(machine);
    expect(demo.states).toEqual([
      { id: 'outer', key: 'outer', type: 'compound', initial: 'outer.a', invokes: [] },
      { id: 'outer.a', key: 'a', parent: 'outer', type: 'atomic', invokes: [] },
      { id: 'outer.b', key: 'b', parent: 'outer', type: 'atomic', invokes: [] },
      { id: 'done', key: 'done', type: 'final', invokes: [] },
    ]);
    expect(demo.transitions).toContainEqual({ source: '', event: 'reset', kind: 'event', target: 'done', actions: [] });
    expect(demo.transitions).toContainEqual({ source: '', event: 'ping', kind: 'event', actions: [] });
    expect(demo.transitions).toContainEqual({ source: 'outer.b', event: 'always', kind: 'always', guard: 'ready', target: 'done', actions: [] });
    const mermaid = toMermaid(demo);
    expect(mermaid).toContain('state outer {');
    expect(mermaid).toContain('[*] --> outer__a');
    expect(mermaid).toContain('outer__b --> done : always [ready]');
    expect(mermaid).toContain('outer --> done : reset');
    expect(mermaid).toContain('done --> [*]');
    expect(mermaid).toContain('note right of outer');
  });
});

describe('toMermaid', () => {
  it('draws the breaker: every state, every arrow, the internal transitions inside their states', () => {
    const text = toMermaid(statechartOf(breakerMachine));
    expect(text.split('\n')[0]).toBe('stateDiagram-v2');
    expect(text).toContain('[*] --> closed');
    for (const line of [
      'closed --> open : breaker.outcome [reachesFailureThreshold] / recordFailure, open',
      'closed --> open : breaker.outcome [reachesErrorRate] / recordFailure, open',
      'open --> half_open : after cooldown',
      'half_open --> closed : breaker.outcome [isProbe && succeeded] / close',
      'half_open --> open : breaker.outcome [isProbe && failed] / open',
      'closed : breaker.acquire / admit',
      'open : breaker.acquire / refuse',
      'half_open : breaker.acquire [hasProbeSlot] / admitProbe',
    ]) {
      expect(text).toContain(`  ${line}\n`);
    }
  });
});

describe('docs/statecharts', () => {
  // `npm run statecharts` writes them; this fails when a machine changed and they were not re-exported.
  it('holds the current export of every machine', () => {
    const directory = new URL('../../docs/statecharts/', import.meta.url);
    const expected = statechartFiles();
    expect(readdirSync(directory).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, text] of Object.entries(expected)) expect(readFileSync(new URL(name, directory), 'utf8'), `${name}: run npm run statecharts`).toBe(text);
  });
});
