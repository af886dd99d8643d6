/** Plain-text and markdown tables, and the number formats the benchmark prints. */

export type Align = 'left' | 'right';

/** A fixed-width table for the terminal; the first column is left-aligned, the rest right-aligned. */
export function formatText(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        return i === 0 ? c.padEnd(w) : c.padStart(w);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map((r) => line(headers.map((_, i) => r[i] ?? '')))].join('\n');
}

/** A GitHub-flavoured markdown table with the same alignment. */
export function formatMarkdown(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  const head = `| ${headers.map(esc).join(' | ')} |`;
  const sep = `|${headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  const body = rows.map((r) => `| ${headers.map((_, i) => esc(r[i] ?? '')).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

/** `12345.6` → `12,346`; NaN/undefined → `n/a`. */
export function fmtInt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : Math.round(v).toLocaleString('en-US');
}

/** Milliseconds with enough digits to see 0.01 ms differences. */
export function fmtMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  return Math.abs(v) < 10 ? v.toFixed(3) : v.toFixed(1);
}

/** Signed milliseconds (`+0.120`). */
export function fmtDeltaMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  return `${v >= 0 ? '+' : ''}${fmtMs(v)}`;
}

/** A ratio such as `0.52×`. */
export function fmtRatio(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(2)}×`;
}

/** KiB → `123.4` MiB. */
export function fmtMiB(kib: number | undefined): string {
  return kib === undefined || !Number.isFinite(kib) || kib <= 0 ? 'n/a' : (kib / 1024).toFixed(1);
}
