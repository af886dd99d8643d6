/**
 * The pass-through report: one row per scenario and metric, columns direct / bare proxy /
 * optimizer, the optimizer-to-direct ratio, the latency the optimizer adds, and the targets from the
 * issue with pass/FAIL. Benchmarks, not tests: a FAIL is information, not an exit code.
 */
import type { MachineFacts } from './machine.js';
import { fmtDeltaMs, fmtInt, fmtMiB, fmtMs, fmtRatio, formatMarkdown } from './table.js';
import { cellKey, TARGET_LABELS } from './types.js';
import type { CellResult, Settings, TargetId, TargetResult } from './types.js';

/** Foreign CPU above this (% of one core) during a cell marks it as disturbed. */
export const NOISY_FOREIGN_CPU_PCT = 10;

interface RowSpec {
  label: string;
  kind: 'rps' | 'ms' | 'mib';
  /** Cell the value comes from; failures and noise in it mark the value. */
  cell: string;
  value(cell: CellResult): number | undefined;
  target?: { text: string; check(optimizer: number, added: number | undefined): boolean };
}

function rowSpecs(s: Settings): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const c of s.concurrency) {
    const cell = cellKey(false, c);
    rows.push({
      label: `c=${c} req/s`,
      kind: 'rps',
      cell,
      value: (r) => r.rps,
      ...(c === 50 ? { target: { text: '≥ 10,000 req/s', check: (o: number) => o >= 10_000 } } : {}),
    });
    rows.push({
      label: `c=${c} p50 ms`,
      kind: 'ms',
      cell,
      value: (r) => r.latencyMs.p50,
      ...(c === 1
        ? { target: { text: 'added ≤ 0.2 ms', check: (_o: number, added: number | undefined) => added !== undefined && added <= 0.2 } }
        : {}),
    });
    rows.push({ label: `c=${c} p99 ms`, kind: 'ms', cell, value: (r) => r.latencyMs.p99 });
  }
  for (const c of s.streamConcurrency) {
    const cell = cellKey(true, c);
    rows.push({
      label: `stream c=${c} first chunk p50 ms`,
      kind: 'ms',
      cell,
      value: (r) => r.ttfbMs?.p50,
      ...(c === 1
        ? { target: { text: 'added ≤ 1 ms', check: (_o: number, added: number | undefined) => added !== undefined && added <= 1 } }
        : {}),
    });
    rows.push({ label: `stream c=${c} first chunk p99 ms`, kind: 'ms', cell, value: (r) => r.ttfbMs?.p99 });
    rows.push({ label: `stream c=${c} req/s`, kind: 'rps', cell, value: (r) => r.rps });
  }
  if (s.concurrency.length > 0) {
    const maxC = Math.max(...s.concurrency);
    const cell = cellKey(false, maxC);
    rows.push({
      label: `c=${maxC} server peak RSS MiB`,
      kind: 'mib',
      cell,
      value: (r) => r.rss?.peakRssKiB,
      ...(maxC >= 500 ? { target: { text: '≤ 150 MiB', check: (o: number) => o / 1024 <= 150 } } : {}),
    });
    rows.push({ label: `c=${maxC} server VmHWM MiB`, kind: 'mib', cell, value: (r) => r.rss?.hwmKiB });
  }
  return rows;
}

export interface Verdict {
  row: string;
  target: string;
  /** undefined: the optimizer was not measured. */
  pass: boolean | undefined;
  optimizer: number | undefined;
  added: number | undefined;
}

export interface Report {
  headers: string[];
  rows: string[][];
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

/** Builds the table rows, the footnotes (failures, noise, unmeasured targets) and the verdicts. */
export function buildReport(s: Settings, results: ReadonlyMap<TargetId, TargetResult>): Report {
  const headers = ['scenario', 'direct', 'bare proxy', 'optimizer', 'opt/direct', 'added (opt−direct)', 'target', 'pass'];
  const rows: string[][] = [];
  const footnotes: string[] = [];
  const verdicts: Verdict[] = [];
  const fmt = (kind: RowSpec['kind'], v: number | undefined): string =>
    kind === 'rps' ? fmtInt(v) : kind === 'ms' ? fmtMs(v) : fmtMiB(v);
  const noted = new Set<string>();

  for (const spec of rowSpecs(s)) {
    const text = (id: TargetId): string => {
      const t = results.get(id);
      if (!t) return '—';
      let out = fmt(spec.kind, valueOf(spec, t));
      const cell = cellOf(t, spec.cell);
      if (!cell) return out;
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
    const dv = valueOf(spec, results.get('direct'));
    const ov = valueOf(spec, results.get('optimizer'));
    const ratio = dv !== undefined && ov !== undefined && spec.kind !== 'mib' && dv !== 0 ? ov / dv : undefined;
    const added = dv !== undefined && ov !== undefined && spec.kind === 'ms' ? ov - dv : undefined;
    let pass = '';
    if (spec.target) {
      const ok = ov === undefined ? undefined : spec.target.check(ov, added);
      pass = ok === undefined ? 'n/a' : ok ? 'pass' : 'FAIL';
      verdicts.push({ row: spec.label, target: spec.target.text, pass: ok, optimizer: ov, added });
    }
    rows.push([
      spec.label,
      text('direct'),
      text('proxy'),
      text('optimizer'),
      spec.kind === 'mib' ? '—' : fmtRatio(ratio),
      spec.kind === 'ms' ? fmtDeltaMs(added) : '—',
      spec.target?.text ?? '',
      pass,
    ]);
  }
  for (const t of results.values()) {
    if (!t.available) footnotes.push(`${t.label}: not measured: ${t.note ?? 'unavailable'}`);
  }
  return { headers, rows, footnotes, verdicts };
}

/** The block to paste into bench/RESULTS.md. */
export function markdownBlock(
  m: MachineFacts,
  s: Settings,
  report: Report,
  upstreamKind: string,
  jsonPath: string,
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
    `- Raw numbers: \`${jsonPath}\``,
    '',
    formatMarkdown(report.headers, report.rows),
    ...(report.footnotes.length > 0 ? ['', ...report.footnotes.map((f) => `- ${f}`)] : []),
  ].join('\n');
}
