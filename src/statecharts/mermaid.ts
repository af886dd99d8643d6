import type { ChartState, ChartTransition, Statechart } from './model.js';

/** A Mermaid state id: letters, digits and `_` (a dotted path becomes `a__b`). */
function mermaidId(stateId: string): string {
  return stateId.replace(/[^A-Za-z0-9_]/g, '__');
}

/** `event [guard] / action, action`: the statechart label of a transition. */
export function transitionLabel(t: ChartTransition): string {
  let label = t.event;
  if (t.guard !== undefined) label += ` [${t.guard}]`;
  if (t.actions.length > 0) label += ` / ${t.actions.join(', ')}`;
  return label;
}

/**
 * The chart as Mermaid `stateDiagram-v2` text (offline export and `GET /admin/machines`).
 * Transitions that change state are arrows; transitions that stay (actions only) are
 * listed inside their state as `event [guard] / actions`, the statechart notation for an
 * internal transition. The machine's own transitions (taken in every state) become arrows
 * from every other top-level state when they have a target, else a note on the initial
 * state. A machine without states is drawn as one state named after it.
 */
export function toMermaid(chart: Statechart): string {
  const lines = ['stateDiagram-v2'];
  const children = new Map<string | undefined, ChartState[]>();
  for (const state of chart.states) {
    const list = children.get(state.parent) ?? [];
    list.push(state);
    children.set(state.parent, list);
  }
  const bySource = new Map<string, ChartTransition[]>();
  for (const t of chart.transitions) {
    const list = bySource.get(t.source) ?? [];
    list.push(t);
    bySource.set(t.source, list);
  }
  const rootTransitions = bySource.get('') ?? [];
  const topLevel = children.get(undefined) ?? [];

  if (topLevel.length === 0) {
    // A machine of events only (the router): one state doing everything.
    const id = mermaidId(chart.id);
    lines.push(`  [*] --> ${id}`);
    for (const t of rootTransitions) lines.push(`  ${id} : ${transitionLabel(t)}`);
    return `${lines.join('\n')}\n`;
  }

  const emit = (states: ChartState[], indent: string, initial: string | undefined) => {
    if (initial !== undefined) lines.push(`${indent}[*] --> ${mermaidId(initial)}`);
    for (const state of states) {
      const id = mermaidId(state.id);
      const nested = children.get(state.id);
      if (nested && nested.length > 0) {
        lines.push(`${indent}state ${id} {`);
        emit(nested, `${indent}  `, state.initial);
        lines.push(`${indent}}`);
      }
      if (state.id !== state.key) lines.push(`${indent}state "${state.key}" as ${id}`);
      for (const invoked of state.invokes) lines.push(`${indent}${id} : invokes ${invoked}`);
      for (const t of bySource.get(state.id) ?? []) {
        if (t.target === undefined) lines.push(`${indent}${id} : ${transitionLabel(t)}`);
        else lines.push(`${indent}${id} --> ${mermaidId(t.target)} : ${transitionLabel(t)}`);
      }
      if (state.type === 'final') lines.push(`${indent}${id} --> [*]`);
    }
  };
  emit(topLevel, '  ', chart.initial);

  for (const t of rootTransitions.filter((r) => r.target !== undefined)) {
    for (const state of topLevel) {
      if (state.id !== t.target && state.type !== 'final') lines.push(`  ${mermaidId(state.id)} --> ${mermaidId(t.target!)} : ${transitionLabel(t)}`);
    }
  }
  const internal = rootTransitions.filter((r) => r.target === undefined);
  if (internal.length > 0 && chart.initial !== undefined) {
    lines.push(`  note right of ${mermaidId(chart.initial)}`);
    lines.push('    in every state:');
    for (const t of internal) lines.push(`    ${transitionLabel(t)}`);
    lines.push('  end note');
  }
  return `${lines.join('\n')}\n`;
}
