import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { applyHeapGrowth } from '../../src/runtime/heap-growth.js';

describe('applyHeapGrowth', () => {
  it('sets V8’s heap growing percent, and leaves V8 alone at 0', () => {
    const set: string[] = [];
    applyHeapGrowth(100, (flags) => set.push(flags));
    applyHeapGrowth(0, (flags) => set.push(flags));
    expect(set).toEqual(['--heap-growing-percent=100']);
  });

  // setFlagsFromString ignores a flag V8 does not know, silently: this is what would tell.
  it('names a flag this Node’s V8 knows', () => {
    const known = spawnSync(process.execPath, ['--heap-growing-percent=100', '-e', ''], { encoding: 'utf8' });
    expect(known.status, known.stderr).toBe(0);
    const unknown = spawnSync(process.execPath, ['--heap-growing-percentage=100', '-e', ''], { encoding: 'utf8' });
    expect(unknown.status).not.toBe(0);
  });
});
