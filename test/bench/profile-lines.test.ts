/**
 * bench/profile-lines.ts, run compiled (dist/bench/profile-lines.js; `npm test` builds first) on a
 * small hand-made CPU profile whose line ticks point into a source file written for the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const script = resolve(import.meta.dirname, '../../dist/bench/profile-lines.js');
const dir = mkdtempSync(join(tmpdir(), 'profile-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(profile: unknown, ...args: string[]): string {
  const file = join(dir, 'p.cpuprofile');
  writeFileSync(file, JSON.stringify(profile));
  return execFileSync(process.execPath, [script, file, ...args], { encoding: 'utf8' });
}

describe('profile-lines', () => {
  it('lists the busiest source lines with their text, sums a line over nodes, and filters by text', () => {
    const source = join(dir, 'hot.js');
    writeFileSync(source, ['const a = { ...b, c };', '  * a comment', 'return JSON.parse(text);'].join('\n'));
    const url = pathToFileURL(source).href;
    const profile = {
      nodes: [
        { callFrame: { url }, positionTicks: [{ line: 1, ticks: 3 }, { line: 3, ticks: 5 }] },
        { callFrame: { url }, positionTicks: [{ line: 1, ticks: 4 }, { line: 2, ticks: 2 }] },
        { callFrame: { url: 'node:internal/timers' }, positionTicks: [{ line: 1, ticks: 50 }] },
        { callFrame: { url: pathToFileURL(join(dir, 'node_modules/x/index.js')).href }, positionTicks: [{ line: 1, ticks: 40 }] },
      ],
      samples: new Array(100).fill(1),
    };
    const lines = run(profile).trim().split('\n');
    expect(lines[0]).toBe('100 samples; the busiest lines of the project:');
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/)[0])).toEqual(['7', '5', '2']);
    expect(lines[1]).toContain('hot.js:1  const a = { ...b, c };');
    expect(lines[1]).toContain('7.00%');
    expect(lines[3]).toContain('(code inlined from another file)');
    const spreads = run(profile, '...').trim().split('\n');
    expect(spreads).toHaveLength(2);
    expect(spreads[1]).toContain('{ ...b, c }');
  });
});
