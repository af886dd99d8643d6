import type { AnyStateMachine } from 'xstate';

/** One state of a chart. Ids are the state's path below the machine, joined with `.` (`closed`, `serving.idle`). */
export interface ChartState {
  id: string;
  /** The last segment of the path. */
  key: string;
  /** The parent state's id, absent for top-level states. */
  parent?: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** For a compound state: the id of its initial child. */
  initial?: string;
  /** What the state invokes while it is active (`transport`, `breaker`). */
  invokes: string[];
}

/** One transition. `source` is `''` for a transition of the machine itself (taken in every state). */
export interface ChartTransition {
  source: string;
  /** Absent for a transition that does not leave the state (actions only). */
  target?: string;
  /** The event type, `after <delay>`, or `always`. */
  event: string;
  kind: 'event' | 'after' | 'always';
  guard?: string;
  actions: string[];
}

/** A machine's structure, read from its definition (never from a running actor). */
export interface Statechart {
  id: string;
  /** The top-level initial state's id (absent for a machine without states). */
  initial?: string;
  states: ChartState[];
  transitions: ChartTransition[];
}

/** The parts of an XState v5 StateNode this reader uses. */
interface StateNodeLike {
  key: string;
  path: string[];
  type: ChartState['type'];
  states: Record<string, StateNodeLike>;
  initial?: { target: readonly StateNodeLike[] };
  invoke: readonly { id?: string; src: unknown }[];
  transitions: Map<string, readonly TransitionLike[]>;
  after: readonly (TransitionLike & { delay: string | number; eventType: string })[];
  always?: readonly TransitionLike[];
}

interface TransitionLike {
  target?: readonly StateNodeLike[] | undefined;
  guard?: unknown;
  actions: readonly unknown[];
}

/** A readable name for a guard: `name`, `a && b`, `a || b`, `!a`. */
export function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') return (guard as { type: string }).type;
  if (typeof guard === 'function') {
    const parts = (guard as { guards?: unknown[] }).guards;
    if (Array.isArray(parts)) {
      const names = parts.map((g) => guardName(g) ?? 'guard');
      if (guard.name === 'and') return names.join(' && ');
      if (guard.name === 'or') return names.join(' || ');
      if (guard.name === 'not') return `!${names[0]}`;
    }
    return guard.name || 'guard';
  }
  return 'guard';
}

/** A readable name for an action: its type (`recordFailure`, `open`), or an XState built-in's (`assign`). */
export function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (action !== null && (typeof action === 'object' || typeof action === 'function')) {
    const type = (action as { type?: unknown }).type;
    if (typeof type === 'string') return type.startsWith('xstate.') ? type.slice('xstate.'.length) : type;
    if (typeof action === 'function' && action.name) return action.name;
  }
  return 'action';
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  return (src as { id?: string } | undefined)?.id ?? 'actor';
}

/**
 * Reads a machine's states and transitions from its definition (`machine.root`): every
 * state with its type, initial child and invocations; every transition with its event
 * (`after <delay>` for delayed ones, `always` for eventless ones), guard, target and
 * actions.
 */
export function statechartOf(machine: AnyStateMachine): Statechart {
  const root = machine.root as unknown as StateNodeLike;
  const states: ChartState[] = [];
  const transitions: ChartTransition[] = [];
  const idOf = (node: StateNodeLike) => node.path.join('.');

  const readTransitions = (node: StateNodeLike, source: string) => {
    const delayed = new Set(node.after.map((t) => t.eventType));
    for (const [event, list] of node.transitions) {
      if (delayed.has(event)) continue;
      for (const t of list) transitions.push(transitionOf(source, event, 'event', t));
    }
    for (const t of node.after) transitions.push(transitionOf(source, `after ${typeof t.delay === 'number' ? `${t.delay}ms` : t.delay}`, 'after', t));
    for (const t of node.always ?? []) transitions.push(transitionOf(source, 'always', 'always', t));
  };
  const transitionOf = (source: string, event: string, kind: ChartTransition['kind'], t: TransitionLike): ChartTransition => {
    const out: ChartTransition = { source, event, kind, actions: t.actions.map(actionName) };
    const target = t.target?.[0];
    if (target) out.target = idOf(target);
    const guard = guardName(t.guard);
    if (guard !== undefined) out.guard = guard;
    return out;
  };
  const visit = (node: StateNodeLike, parent: string | undefined) => {
    const id = idOf(node);
    const state: ChartState = { id, key: node.key, type: node.type, invokes: node.invoke.map((i) => i.id ?? srcName(i.src)) };
    if (parent !== undefined) state.parent = parent;
    const initial = node.initial?.target[0];
    if (node.type === 'compound' && initial) state.initial = idOf(initial);
    states.push(state);
    readTransitions(node, id);
    for (const child of Object.values(node.states)) visit(child, id);
  };

  readTransitions(root, '');
  for (const child of Object.values(root.states)) visit(child, undefined);
  const chart: Statechart = { id: machine.id, states, transitions };
  const initial = root.initial?.target[0];
  if (initial && root.type === 'compound') chart.initial = idOf(initial);
  return chart;
}
