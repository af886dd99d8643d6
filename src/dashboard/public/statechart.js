// @ts-check
/**
 * Draws a statechart (the JSON of GET /admin/machines: states and transitions read from
 * the machine definitions) as SVG: states are boxes in a row, in the order they are
 * reached from the initial state; transitions to a later state arc above the row, to an
 * earlier one below it; transitions that stay in their state are listed inside its box.
 * The current state, when known, is highlighted.
 */
import { svgElement } from './charts.js';

/**
 * @typedef {{ id: string, key: string, parent?: string, type: string, initial?: string, invokes: string[] }} ChartState
 * @typedef {{ source: string, target?: string, event: string, kind: string, guard?: string, actions: string[] }} ChartTransition
 * @typedef {{ id: string, initial?: string, states: ChartState[], transitions: ChartTransition[] }} Statechart
 */

const NODE_WIDTH = 170;
const GAP = 110;
const LINE = 12;
const MAX_INTERNAL_LINES = 6;
let drawn = 0;

/** @param {string} text @param {number} max */
function clip(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** @param {ChartTransition} t */
function shortLabel(t) {
  return t.guard === undefined ? t.event : `${t.event} [${t.guard}]`;
}

/**
 * @param {Statechart} chart
 * @param {string | undefined} current the id of the state to highlight
 * @returns {SVGSVGElement}
 */
export function drawStatechart(chart, current) {
  const topLevel = chart.states.filter((s) => s.parent === undefined);
  /** @type {ChartState[]} */
  const states = topLevel.length > 0 ? topLevel : [{ id: chart.id, key: chart.id, type: 'atomic', invokes: [] }];
  const rootTransitions = chart.transitions.filter((t) => t.source === '');
  /** @type {ChartTransition[]} */
  const transitions = topLevel.length > 0 ? chart.transitions.filter((t) => t.source !== '') : rootTransitions.map((t) => ({ ...t, source: chart.id }));
  // The machine's own transitions with a target are taken from every other state.
  if (topLevel.length > 0) {
    for (const t of rootTransitions) {
      if (t.target === undefined) continue;
      for (const s of topLevel) if (s.id !== t.target && s.type !== 'final') transitions.push({ ...t, source: s.id });
    }
  }

  // Order: breadth first from the initial state along the arrows, then the rest.
  const initial = chart.initial ?? states[0]?.id;
  /** @type {string[]} */
  const order = [];
  const queue = initial === undefined ? [] : [initial];
  while (queue.length > 0) {
    const id = /** @type {string} */ (queue.shift());
    if (order.includes(id) || !states.some((s) => s.id === id)) continue;
    order.push(id);
    for (const t of transitions) if (t.source === id && t.target !== undefined && !order.includes(t.target)) queue.push(t.target);
  }
  for (const s of states) if (!order.includes(s.id)) order.push(s.id);

  /** @type {Map<string, string[]>} */
  const internal = new Map();
  /** @type {Map<string, { from: string, to: string, labels: string[] }>} */
  const edges = new Map();
  for (const t of transitions) {
    if (t.target === undefined || !order.includes(t.target)) {
      const lines = internal.get(t.source) ?? [];
      lines.push(shortLabel(t));
      internal.set(t.source, lines);
    } else {
      const key = `${t.source}→${t.target}`;
      const edge = edges.get(key) ?? { from: t.source, to: t.target, labels: [] };
      if (!edge.labels.includes(shortLabel(t))) edge.labels.push(shortLabel(t));
      edges.set(key, edge);
    }
  }
  for (const s of states) {
    const lines = internal.get(s.id) ?? [];
    for (const invoked of [...s.invokes].reverse()) lines.unshift(`invokes ${invoked}`);
    internal.set(s.id, lines);
  }

  const heightOf = (/** @type {string} */ id) => 30 + Math.min(MAX_INTERNAL_LINES + 1, (internal.get(id) ?? []).length) * LINE + 6;
  const tallest = Math.max(...order.map(heightOf));
  const maxSpan = Math.max(1, ...[...edges.values()].map((e) => Math.abs(order.indexOf(e.to) - order.indexOf(e.from))));
  const arc = (/** @type {number} */ span) => 34 + span * 22;
  const labelRoom = (/** @type {boolean} */ forward) => Math.max(0, ...[...edges.values()].filter((e) => (order.indexOf(e.to) > order.indexOf(e.from)) === forward).map((e) => e.labels.length)) * LINE;
  const top = 20 + arc(maxSpan) + labelRoom(true);
  const rowY = top + tallest / 2;
  const width = 40 + order.length * NODE_WIDTH + (order.length - 1) * GAP + 20;
  const height = rowY + tallest / 2 + arc(maxSpan) + labelRoom(false) + 20;
  const x = (/** @type {string} */ id) => 40 + order.indexOf(id) * (NODE_WIDTH + GAP);

  const arrowId = `arrow-${++drawn}`;
  const svg = /** @type {SVGSVGElement} */ (svgElement('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `statechart of ${chart.id}` }));
  // Never drawn larger than its natural size (a one-state machine would fill the card).
  svg.style.maxWidth = `${width * 1.2}px`;
  const defs = svgElement('defs');
  const marker = svgElement('marker', { id: arrowId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svgElement('path', { d: 'M 0 0 L 10 5 L 0 10 z' }));
  defs.append(marker);
  svg.append(defs);

  for (const edge of edges.values()) {
    const from = order.indexOf(edge.from);
    const to = order.indexOf(edge.to);
    const forward = to > from;
    const lift = arc(Math.abs(to - from)) * (forward ? -1 : 1);
    const fromH = heightOf(edge.from) / 2;
    const toH = heightOf(edge.to) / 2;
    let d;
    let labelX;
    let labelY;
    if (from === to) {
      const sx = x(edge.from) + NODE_WIDTH - 30;
      const sy = rowY - fromH;
      d = `M ${sx} ${sy} C ${sx} ${sy - 40}, ${sx + 40} ${sy - 40}, ${sx + 20} ${sy}`;
      labelX = sx + 10;
      labelY = sy - 36;
    } else {
      const sx = x(edge.from) + NODE_WIDTH / 2 + (forward ? 25 : -25);
      const tx = x(edge.to) + NODE_WIDTH / 2 + (forward ? -25 : 25);
      const sy = rowY + (forward ? -fromH : fromH);
      const ty = rowY + (forward ? -toH : toH);
      d = `M ${sx} ${sy} C ${sx} ${sy + lift}, ${tx} ${ty + lift}, ${tx} ${ty}`;
      labelX = (sx + tx) / 2;
      labelY = (sy + ty) / 2 + lift * 0.75;
    }
    const group = svgElement('g', { class: 'transition', 'data-from': edge.from, 'data-to': edge.to });
    group.append(svgElement('path', { d, class: 'edge', 'marker-end': `url(#${arrowId})` }));
    edge.labels.forEach((label, i) => {
      const dy = forward || from === to ? -4 - (edge.labels.length - 1 - i) * LINE : 12 + i * LINE;
      group.append(svgElement('text', { x: labelX, y: labelY + dy, 'text-anchor': 'middle', class: 'edge-label' }, clip(label, 44)));
    });
    svg.append(group);
  }

  for (const id of order) {
    const state = /** @type {ChartState} */ (states.find((s) => s.id === id));
    const h = heightOf(id);
    const y = rowY - h / 2;
    const node = svgElement('g', { class: `node${id === current ? ' current' : ''}${state.type === 'final' ? ' final' : ''}`, 'data-state': id });
    node.append(svgElement('rect', { x: x(id), y, width: NODE_WIDTH, height: h, rx: 10 }));
    node.append(svgElement('text', { x: x(id) + NODE_WIDTH / 2, y: y + 20, 'text-anchor': 'middle', class: 'name' }, state.key));
    const lines = internal.get(id) ?? [];
    const shown = lines.length > MAX_INTERNAL_LINES + 1 ? [...lines.slice(0, MAX_INTERNAL_LINES), `+${lines.length - MAX_INTERNAL_LINES} more`] : lines;
    shown.forEach((line, i) => node.append(svgElement('text', { x: x(id) + 8, y: y + 36 + i * LINE, class: 'internal' }, clip(line, 34))));
    const title = svgElement('title', {}, [state.key, ...lines].join('\n'));
    node.append(title);
    svg.append(node);
  }

  if (initial !== undefined && order.includes(initial)) {
    const ix = x(initial) - 22;
    svg.append(svgElement('circle', { cx: ix, cy: rowY, r: 5, class: 'initial' }));
    svg.append(svgElement('path', { d: `M ${ix + 5} ${rowY} L ${x(initial) - 1} ${rowY}`, class: 'edge', 'marker-end': `url(#${arrowId})` }));
  }
  return svg;
}
