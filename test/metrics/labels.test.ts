import { describe, expect, it } from 'vitest';
import { MetricLabels, NO_ROUTE_LABEL, OTHER_LABEL } from '../../src/metrics/labels.js';
import { buildRoutingTable } from '../../src/routing/table.js';
import { backendConfig } from '../support/fixtures.js';

const table = buildRoutingTable({ backends: [backendConfig('groq', ['llama']), backendConfig('local', ['qwen'])], routing: { aliases: {}, fallbacks: {}, defaultModel: '' } });

describe('MetricLabels', () => {
  it('labels the first maxAgentLabels agents seen by name and every later one as other', () => {
    const labels = new MetricLabels({ configuredAgents: [], maxAgentLabels: 3, table });
    expect(['a', 'b', 'c'].map((id) => labels.agent(id))).toEqual(['a', 'b', 'c']);
    expect(labels.agent('d')).toBe(OTHER_LABEL);
    expect(labels.agent('e')).toBe(OTHER_LABEL);
    // Those seen first keep their label.
    expect(labels.agent('b')).toBe('b');
    expect(labels.seenAgents).toBe(3);
  });

  it('never hands out more than the cap however many distinct agents come', () => {
    const labels = new MetricLabels({ configuredAgents: [], maxAgentLabels: 50, table });
    const distinct = new Set<string>();
    for (let i = 0; i < 10_000; i++) distinct.add(labels.agent(`agent-${i}`));
    expect(distinct.size).toBe(51); // 50 names + other
  });

  it('with agents configured, labels exactly those (however many) and nobody else', () => {
    const configured = Array.from({ length: 60 }, (_, i) => `bot-${i}`);
    const labels = new MetricLabels({ configuredAgents: configured, maxAgentLabels: 5, table });
    expect(labels.agent('bot-59')).toBe('bot-59');
    expect(labels.agent('intruder')).toBe(OTHER_LABEL);
  });

  it('remembers stored agents first, so a restart does not give out new labels', () => {
    const labels = new MetricLabels({ configuredAgents: [], maxAgentLabels: 2, table });
    labels.remember(['old-1', 'old-2', 'old-3']);
    expect(labels.agent('old-2')).toBe('old-2');
    expect(labels.agent('new')).toBe(OTHER_LABEL);
  });

  it('never labels an agent `other` by name nor `__proto__`', () => {
    const labels = new MetricLabels({ configuredAgents: [], maxAgentLabels: 10, table });
    expect(labels.agent('__proto__')).toBe(OTHER_LABEL);
    expect(labels.agent(OTHER_LABEL)).toBe(OTHER_LABEL);
    expect(labels.seenAgents).toBe(0);
  });

  it('keeps backends and models to the configured ones', () => {
    const labels = new MetricLabels({ configuredAgents: [], maxAgentLabels: 10, table });
    expect(labels.backend('groq')).toBe('groq');
    expect(labels.backend('made-up')).toBe(OTHER_LABEL);
    expect(labels.backend(undefined)).toBe(NO_ROUTE_LABEL);
    expect(labels.model('local/qwen')).toBe('local/qwen');
    expect(labels.model('groq/qwen')).toBe(OTHER_LABEL);
    expect(labels.model('llama')).toBe(OTHER_LABEL); // a bare id is raw client input
    expect(labels.model(undefined)).toBe(NO_ROUTE_LABEL);
  });
});
