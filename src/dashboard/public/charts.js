// @ts-check
/**
 * Charts drawn as inline SVG, by hand: no chart library, nothing fetched from elsewhere.
 * Each function empties the <svg> it is given and draws into its viewBox.
 */

const SVG = 'http://www.w3.org/2000/svg';

/**
 * @param {string} tag
 * @param {Record<string, string | number>} [attributes]
 * @param {string} [text]
 * @returns {SVGElement}
 */
export function svgElement(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** @param {SVGSVGElement} svg */
function size(svg) {
  const box = svg.viewBox.baseVal;
  return { width: box.width, height: box.height };
}

/** @param {SVGSVGElement} svg @param {string} message */
function empty(svg, message) {
  const { width, height } = size(svg);
  svg.append(svgElement('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty' }, message));
}

/** A short number: 1234 → 1.2k. @param {number} n */
export function shortNumber(n) {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n * 100) / 100);
}

/**
 * Donut of parts of a whole.
 * @param {SVGSVGElement} svg
 * @param {{ label: string, value: number, className: string }[]} parts
 * @param {string} centre text in the middle
 */
export function donut(svg, parts, centre) {
  svg.replaceChildren();
  const total = parts.reduce((sum, p) => sum + p.value, 0);
  const r = 45;
  const c = 2 * Math.PI * r;
  svg.append(svgElement('circle', { cx: 60, cy: 60, r, fill: 'none', stroke: '#2a3541', 'stroke-width': 16 }));
  let offset = 0;
  for (const part of parts) {
    if (total === 0 || part.value === 0) continue;
    const length = (part.value / total) * c;
    const arc = svgElement('circle', {
      cx: 60, cy: 60, r, fill: 'none', 'stroke-width': 16, class: `arc ${part.className}`,
      'stroke-dasharray': `${length} ${c - length}`, 'stroke-dashoffset': -offset, transform: 'rotate(-90 60 60)',
    });
    arc.append(svgElement('title', {}, `${part.label}: ${part.value}`));
    svg.append(arc);
    offset += length;
  }
  svg.append(svgElement('text', { x: 60, y: 64, 'text-anchor': 'middle', class: 'donut-total' }, centre));
}

/**
 * Area chart of a series of counts (the live rate).
 * @param {SVGSVGElement} svg
 * @param {number[]} values oldest first
 * @param {string} unit
 */
export function area(svg, values, unit) {
  svg.replaceChildren();
  const { width, height } = size(svg);
  const pad = { left: 34, right: 6, top: 8, bottom: 16 };
  const max = Math.max(1, ...values);
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const x = (/** @type {number} */ i) => pad.left + (values.length <= 1 ? 0 : (i / (values.length - 1)) * w);
  const y = (/** @type {number} */ v) => pad.top + h - (v / max) * h;
  svg.append(svgElement('line', { x1: pad.left, y1: pad.top + h, x2: width - pad.right, y2: pad.top + h, class: 'axis' }));
  svg.append(svgElement('text', { x: pad.left - 4, y: pad.top + 8, 'text-anchor': 'end' }, shortNumber(max)));
  svg.append(svgElement('text', { x: pad.left - 4, y: pad.top + h, 'text-anchor': 'end' }, '0'));
  svg.append(svgElement('text', { x: width - pad.right, y: height - 2, 'text-anchor': 'end', class: 'empty' }, `now (${unit})`));
  if (values.length === 0) return;
  let d = `M ${x(0)} ${pad.top + h}`;
  values.forEach((v, i) => (d += ` L ${x(i).toFixed(1)} ${y(v).toFixed(1)}`));
  d += ` L ${x(values.length - 1)} ${pad.top + h} Z`;
  svg.append(svgElement('path', { d, class: 'area' }));
}

/**
 * Calls per minute as bars (hits stacked inside), with the hit rate as a line on a 0–100% scale.
 * @param {SVGSVGElement} svg
 * @param {{ minute: number, requests: number, cacheHits: number, cacheMisses: number }[]} points oldest first
 */
export function timeline(svg, points) {
  svg.replaceChildren();
  const { width, height } = size(svg);
  const pad = { left: 40, right: 40, top: 10, bottom: 22 };
  if (points.length === 0) return empty(svg, 'no calls yet');
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const max = Math.max(1, ...points.map((p) => p.requests));
  const slot = w / points.length;
  const barWidth = Math.max(2, Math.min(28, slot * 0.7));
  for (const f of [0, 0.5, 1]) {
    const yy = pad.top + h - f * h;
    svg.append(svgElement('line', { x1: pad.left, y1: yy, x2: width - pad.right, y2: yy, class: f === 0 ? 'axis' : 'grid' }));
    svg.append(svgElement('text', { x: pad.left - 4, y: yy + 4, 'text-anchor': 'end' }, shortNumber(max * f)));
    svg.append(svgElement('text', { x: width - pad.right + 4, y: yy + 4 }, `${Math.round(f * 100)}%`));
  }
  /** @type {string[]} */
  const rate = [];
  points.forEach((p, i) => {
    const cx = pad.left + slot * i + slot / 2;
    const bh = (p.requests / max) * h;
    const bar = svgElement('rect', { x: cx - barWidth / 2, y: pad.top + h - bh, width: barWidth, height: Math.max(bh, p.requests > 0 ? 1 : 0), class: 'bar-calls' });
    bar.append(svgElement('title', {}, `${new Date(p.minute).toLocaleTimeString()}: ${p.requests} calls, ${p.cacheHits} cache hits`));
    svg.append(bar);
    const hh = (p.cacheHits / max) * h;
    if (hh > 0) svg.append(svgElement('rect', { x: cx - barWidth / 4, y: pad.top + h - hh, width: barWidth / 2, height: hh, class: 'bar-hits' }));
    const lookups = p.cacheHits + p.cacheMisses;
    if (lookups > 0) rate.push(`${rate.length === 0 ? 'M' : 'L'} ${cx.toFixed(1)} ${(pad.top + h - (p.cacheHits / lookups) * h).toFixed(1)}`);
    if (i === 0 || i === points.length - 1 || (points.length > 8 && i % Math.ceil(points.length / 6) === 0)) {
      svg.append(svgElement('text', { x: cx, y: height - 6, 'text-anchor': 'middle' }, new Date(p.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
    }
  });
  if (rate.length > 0) svg.append(svgElement('path', { d: rate.join(' '), class: 'line-rate' }));
}

/**
 * Horizontal bars: one row per item, each with a total and a highlighted part (hits, failures).
 * @param {SVGSVGElement} svg
 * @param {{ label: string, total: number, part: number, partLabel: string }[]} rows
 * @param {string} partClass
 */
export function bars(svg, rows, partClass) {
  svg.replaceChildren();
  const width = 440;
  const rowHeight = 24;
  const height = Math.max(40, rows.length * rowHeight + 8);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  if (rows.length === 0) return empty(svg, 'no calls yet');
  const labelWidth = 120;
  const max = Math.max(1, ...rows.map((r) => r.total));
  const w = width - labelWidth - 60;
  rows.forEach((row, i) => {
    const y = 4 + i * rowHeight;
    svg.append(svgElement('text', { x: labelWidth - 6, y: y + 15, 'text-anchor': 'end' }, row.label.length > 18 ? `${row.label.slice(0, 17)}…` : row.label));
    const total = svgElement('rect', { x: labelWidth, y: y + 3, width: Math.max(1, (row.total / max) * w), height: 16, rx: 2, class: 'bar-calls' });
    total.append(svgElement('title', {}, `${row.label}: ${row.total} calls, ${row.part} ${row.partLabel}`));
    svg.append(total);
    if (row.part > 0) svg.append(svgElement('rect', { x: labelWidth, y: y + 3, width: Math.max(1, (row.part / max) * w), height: 16, rx: 2, class: partClass }));
    svg.append(svgElement('text', { x: labelWidth + (row.total / max) * w + 6, y: y + 15 }, `${shortNumber(row.total)}${row.part > 0 ? ` (${shortNumber(row.part)} ${row.partLabel})` : ''}`));
  });
}
