/**
 * `node dist/bench/profile-lines.js <file.cpuprofile> [text]`: the source lines of the project that
 * took the most samples in a V8 CPU profile (`--cpu-prof`), from the profile's line ticks, with the
 * line's text; with `text`, only lines containing it (e.g. `...` for object spreads). Ticks of an
 * inlined function are reported at its own line, under the caller's file, so a line may look odd
 * beside its file's name: the text shown is that file's line.
 *
 * Why: flame graphs group by function, and the request path's cost sits in a few lines of large
 * functions. Line ticks found two object spreads on the request path that V8 ran on its slow path
 * (bench/RESULTS.md, 2026-11-28 09:37).
 *
 *   AB_FLAGS_A='--cpu-prof --cpu-prof-dir=/tmp/prof' node dist/bench/ab.js dist dist
 *   node dist/bench/profile-lines.js /tmp/prof/*.cpuprofile
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  callFrame: { url: string };
  positionTicks?: { line: number; ticks: number }[];
}

const [file, filter] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/profile-lines.js <file.cpuprofile> [text]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const ticks = new Map<string, number>();
for (const node of profile.nodes) {
  const { url } = node.callFrame;
  if (!url.startsWith('file://') || url.includes('/node_modules/')) continue;
  for (const { line, ticks: n } of node.positionTicks ?? []) ticks.set(`${url}\n${line}`, (ticks.get(`${url}\n${line}`) ?? 0) + n);
}
const sources = new Map<string, string[]>();
const lineOf = (url: string, line: number): string => {
  if (!sources.has(url)) {
    try {
      sources.set(url, readFileSync(fileURLToPath(url), 'utf8').split('\n'));
    } catch {
      sources.set(url, []);
    }
  }
  return (sources.get(url)![line - 1] ?? '').trim();
};
/** The file below the build it came from (`dist/`, or a copy of it such as bench:ab's `.ab/<name>/`). */
const shortPath = (url: string): string => relative(process.cwd(), fileURLToPath(url)).replace(/^(dist|\.ab\/[^/]+)\//, '');
const rows = [...ticks]
  .map(([key, n]) => {
    const [url, line] = key.split('\n') as [string, string];
    return { n, where: `${shortPath(url)}:${line}`, text: lineOf(url, Number(line)) };
  })
  .filter((row) => filter === undefined || row.text.includes(filter))
  .sort((a, b) => b.n - a.n)
  .slice(0, Number(process.env['LINES'] ?? 30));
const total = profile.samples.length;
// A comment or blank line holds no code: the ticks are an inlined function's, from another file.
const shown = (text: string): string => (text === '' || /^(\*|\/\*|\/\/)/.test(text) ? '(code inlined from another file)' : text.slice(0, 120));
const out = [`${total} samples; the busiest lines of the project${filter === undefined ? '' : ` containing '${filter}'`}:`];
for (const row of rows) out.push(`${String(row.n).padStart(6)} ${((100 * row.n) / total).toFixed(2).padStart(6)}%  ${row.where}  ${shown(row.text)}`);
process.stdout.on('error', () => process.exit(0)); // e.g. piped into `head`
process.stdout.write(`${out.join('\n')}\n`);
