/**
 * The pass-through report: one row per scenario and metric, one column per target (direct, bare
 * proxy, and the optimizer variants), then a table of the issues' targets with pass/FAIL per
 * optimizer variant. Benchmarks, not tests: a FAIL is information, not an exit code.
 */
import type { MachineFacts } from './machine.js';
import { fmtDeltaMs, fmtInt, fmtMiB, fmtMs, formatMarkdown } from './table.js';
import { cellKey, isOptimizer, TARGET_IDS, TARGET_LABELS } from './types.js';
import type { CellResult, Settings, TargetId, TargetResult } from './types.js';

/** Foreign CPU above this (% of one core) during a cell marks it as disturbed. */
export const NOISY_FOREIGN_CPU_PCT = 10;

type Kind = 'rps' | 'ms' | 'mib' | 'us';

interface RowSpec {
  label: string;
  kind: Kind;
  /** Cell the value comes from; failures and noise in it mark the value. */
  cell: string;
  value(cell: CellResult): number | undefined;
}

/** A target from the issues, checked on one row for some of the optimizer variants. */
interface TargetSpec {
  text: string;
  row: string;
  /** `value`: the variant's own number; `added`: the variant minus `direct`. */
  basis: 'value' | 'added';
  columns: readonly TargetId[];
  check(v: number): boolean;
}

function rowSpecs(s: Settings): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const c of s.concurrency) {
    const cell = cellKey(false, c);
    rows.push({ label: `c=${c} req/s`, kind: 'rps', cell, value: (r) => r.rps });
    rows.push({ label: `c=${c} p50 ms`, kind: 'ms', cell, value: (r) => r.latencyMs.p50 });
    rows.push({ label: `c=${c} p99 ms`, kind: 'ms', cell, value: (r) => r.latencyMs.p99 });
    rows.push({ label: `c=${c} server CPU µs/request`, kind: 'us', cell, value: (r) => r.serverCpuUsPerRequest });
  }
  for (const c of s.streamConcurrency) {
    const cell = cellKey(true, c);
    rows.push({ label: `stream c=${c} first chunk p50 ms`, kind: 'ms', cell, value: (r) => r.ttfbMs?.p50 });
    rows.push({ label: `stream c=${c} first chunk p99 ms`, kind: 'ms', cell, value: (r) => r.ttfbMs?.p99 });
    rows.push({ label: `stream c=${c} req/s`, kind: 'rps', cell, value: (r) => r.rps });
  }
  if (s.concurrency.length > 0) {
    const maxC = Math.max(...s.concurrency);
    const cell = cellKey(false, maxC);
    rows.push({ label: `c=${maxC} server peak RSS MiB`, kind: 'mib', cell, value: (r) => r.rss?.peakRssKiB });
    rows.push({ label: `c=${maxC} server peak RSS: file-backed MiB`, kind: 'mib', cell, value: (r) => r.rss?.peakFileKiB });
    rows.push({ label: `c=${maxC} server VmHWM MiB`, kind: 'mib', cell, value: (r) => r.rss?.hwmKiB });
  }
  return rows;
}

function targetSpecs(s: Settings): TargetSpec[] {
  const plain: TargetId[] = ['optimizer', 'features'];
  const out: TargetSpec[] = [];
  if (s.concurrency.includes(50)) {
    out.push({ text: '≥ 10,000 req/s on one core at c=50', row: 'c=50 req/s', basis: 'value', columns: plain, check: (v) => v >= 10_000 });
    out.push({ text: '≥ 20,000 req/s on one core at c=50, cache hits', row: 'c=50 req/s', basis: 'value', columns: ['cache-hit'], check: (v) => v >= 20_000 });
  }
  if (s.concurrency.includes(1)) {
    out.push({ text: 'added p50 ≤ 0.2 ms at c=1', row: 'c=1 p50 ms', basis: 'added', columns: plain, check: (v) => v <= 0.2 });
  }
  if (s.streamConcurrency.includes(1)) {
    out.push({
      text: 'added time to first streamed chunk ≤ 1 ms',
      row: 'stream c=1 first chunk p50 ms',
      basis: 'added',
      columns: plain,
      check: (v) => v <= 1,
    });
  }
  const maxC = s.concurrency.length > 0 ? Math.max(...s.concurrency) : 0;
  if (maxC >= 500) {
    out.push({
      text: `RSS ≤ 150 MiB under ${maxC} connections`,
      row: `c=${maxC} server peak RSS MiB`,
      basis: 'value',
      columns: plain,
      check: (v) => v / 1024 <= 150,
    });
  }
  return out;
}

export interface Verdict {
  target: string;
  row: string;
  column: TargetId;
  /** undefined: not measured. */
  pass: boolean | undefined;
  /** The variant's value on the row (req/s, ms, KiB for memory). */
  value: number | undefined;
  /** value − direct (latency rows). */
  added: number | undefined;
}

export interface Report {
  headers: string[];
  rows: string[][];
  targetHeaders: string[];
  targetRows: string[][];
  footnotes: string[];
  verdicts: Verdict[];
}

const cellOf = (t: TargetResult | undefined, key: string): CellResult | undefined =>
  t?.available ? t.cells[key] : undefined;

function valueOf(spec: RowSpec, t: TargetResult | undefined): number | undefined {
  const cell = cellOf(t, spec.cell);
  if (!cell) return undefined;
  // Memory is meaningful even if some requests failed; rates and latencies need successes.
  if (spec.kind !== 'mib' && cell.ok === 0) return undefined;
  const v = spec.value(cell);
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

const fmt = (kind: Kind, v: number | undefined): string => (kind === 'rps' || kind === 'us' ? fmtInt(v) : kind === 'ms' ? fmtMs(v) : fmtMiB(v));

/** Builds the tables, the footnotes (failures, noise, upstream calls, unmeasured targets) and the verdicts. */
export function buildReport(s: Settings, results: ReadonlyMap<TargetId, TargetResult>): Report {
  const columns = TARGET_IDS.filter((id) => s.targets.includes(id));
  const headers = ['scenario', ...columns.map((id) => TARGET_LABELS[id])];
  const rows: string[][] = [];
  const footnotes: string[] = [];
  const noted = new Set<string>();
  const specs = rowSpecs(s);

  for (const spec of specs) {
    const text = (id: TargetId): string => {
      const t = results.get(id);
      if (!t) return '—';
      const cell = cellOf(t, spec.cell);
      if (!cell) return '—';
      let out = fmt(spec.kind, valueOf(spec, t));
      const failed = cell.requests - cell.ok;
      const noisy = cell.foreignCpuPct !== undefined && cell.foreignCpuPct > NOISY_FOREIGN_CPU_PCT;
      if (failed > 0) out += '*';
      if (noisy) out += '~';
      const key = `${id}/${spec.cell}`;
      if (!noted.has(key)) {
        noted.add(key);
        if (failed > 0) {
          footnotes.push(
            `* ${TARGET_LABELS[id]} ${spec.cell}: ${failed} of ${cell.requests} requests failed ` +
              `(${cell.firstError ?? 'unknown'}); rates and latencies count successes only.`,
          );
        }
        if (noisy) {
          footnotes.push(
            `~ ${TARGET_LABELS[id]} ${spec.cell}: other processes used ${Math.round(cell.foreignCpuPct ?? 0)}% of a core ` +
              'during the measurement; treat the number as disturbed.',
          );
        }
      }
      return out;
    };
    rows.push([spec.label, ...columns.map(text)]);
  }

  // The targets, per optimizer variant.
  const variants = columns.filter(isOptimizer);
  const targetHeaders = ['target', 'row', ...variants.map((id) => TARGET_LABELS[id])];
  const targetRows: string[][] = [];
  const verdicts: Verdict[] = [];
  for (const target of targetSpecs(s)) {
    const spec = specs.find((r) => r.label === target.row);
    if (!spec) continue;
    const direct = valueOf(spec, results.get('direct'));
    const cells = variants.map((id) => {
      if (!target.columns.includes(id)) return '';
      const value = valueOf(spec, results.get(id));
      const added = value !== undefined && direct !== undefined && spec.kind === 'ms' ? value - direct : undefined;
      const checked = target.basis === 'added' ? added : value;
      const pass = checked === undefined ? undefined : target.check(checked);
      verdicts.push({ target: target.text, row: target.row, column: id, pass, value, added });
      if (pass === undefined) return 'n/a';
      const shown = target.basis === 'added' ? `${fmtDeltaMs(checked)} ms` : spec.kind === 'mib' ? `${fmtMiB(checked)} MiB` : fmt(spec.kind, checked);
      return `${shown} ${pass ? 'pass' : 'FAIL'}`;
    });
    targetRows.push([target.text, `\`${target.row}\``, ...cells]);
  }

  // Upstream calls the optimizer variants made per answered request: 1 for misses, 0 for cache hits.
  for (const id of variants) {
    const t = results.get(id);
    if (!t?.available) continue;
    const parts: string[] = [];
    for (const [key, cell] of Object.entries(t.cells)) {
      if (cell.upstreamCalls === undefined || cell.ok === 0) continue;
      parts.push(`${key} ${(cell.upstreamCalls / cell.ok).toFixed(3)}`);
    }
    if (parts.length > 0) {
      footnotes.push(`upstream calls per answered request, ${TARGET_LABELS[id]} (/admin/backends, measurements only): ${parts.join(', ')}`);
    }
  }
  for (const t of results.values()) {
    if (!t.available) footnotes.push(`${t.label}: not measured: ${t.note ?? 'unavailable'}`);
  }
  return { headers, rows, targetHeaders, targetRows, footnotes, verdicts };
}

/** The block to paste into bench/RESULTS.md. */
export function markdownBlock(
  m: MachineFacts,
  s: Settings,
  report: Report,
  upstreamKind: string,
  jsonPath: string,
  configs: readonly string[],
): string {
  return [
    `### ${m.date.slice(0, 10)}: pass-through on ${m.cpuModel} (${m.cores} cores)`,
    '',
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}; Node ${m.node}, undici ${m.undici ?? '?'}`,
    `- Commit: ${m.gitCommit ?? '(no commit yet)'}; run at ${m.date}`,
    `- Load: ${m.loadGenerator} for non-streaming cells, the built-in undici generator for streaming; ` +
      `${s.warmupS} s warm-up + ${s.durationS} s per cell, ${s.rounds} round(s), targets interleaved per cell`,
    `- Pinning: ${m.pinning}`,
    `- Upstream: ${upstreamKind}, latency ${s.upstreamLatencyMs} ms`,
    ...configs.map((c) => `- ${c}`),
    `- Raw numbers: \`${jsonPath}\``,
    '',
    formatMarkdown(report.headers, report.rows),
    '',
    formatMarkdown(report.targetHeaders, report.targetRows),
    ...(report.footnotes.length > 0 ? ['', ...report.footnotes.map((f) => `- ${f}`)] : []),
  ].join('\n');
}
