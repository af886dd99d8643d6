import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RootDatabase } from 'lmdb';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { deadLetterIdTime, isDeadLetterId, monotonicIdSource } from '../../src/dlq/dead-letter-id.js';
import { DeadLetters, DeadLetterStoreError, DLQ_MAX_REPLAYS_KEPT } from '../../src/dlq/dead-letters.js';
import type { NewDeadLetter } from '../../src/dlq/types.js';
import { openStore } from '../../src/store/open-store.js';

const dir = mkdtempSync(join(tmpdir(), 'dlq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MAP_SIZE = 64 * 1024 * 1024;
let paths = 0;
const freshPath = () => join(dir, `env-${paths++}`);

const opened: RootDatabase[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((root) => root.close()));
});
function openEnv(path: string): RootDatabase {
  const root = openStore({ path, mapSizeBytes: MAP_SIZE });
  opened.push(root);
  return root;
}

function request(n = 1): NewDeadLetter {
  return {
    agentId: `agent-${n}`,
    tenant: 'acme',
    endpoint: 'chat.completions',
    body: { model: 'auto', messages: [{ role: 'user', content: `hello ${n}` }], temperature: 0 },
    hints: { taskType: 'code', priority: 2 },
    stream: true,
    reason: 'all 2 candidate backends failed',
    attempts: [
      { backend: 'groq', model: 'llama-3.3-70b-versatile', at: 1_000, code: 'UPSTREAM_TIMEOUT', status: 504, message: 'no answer in 30 s' },
      { backend: 'openai', model: 'gpt-4o-mini', at: 1_500, code: 'UPSTREAM_ERROR', status: 502, message: 'upstream 500' },
    ],
  };
}

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('DeadLetters', () => {
  it('adds an entry with id, time, version and no replays, and gets it back', async () => {
    const root = openEnv(freshPath());
    const clock = manualClock();
    const dlq = new DeadLetters(() => root, { now: clock.now });
    const stored = await dlq.add(request());
    expect(stored).toMatchObject({ v: 1, at: clock.now(), replays: [], ...request() });
    expect(stored.id).toMatch(/^dlq_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(dlq.get(stored.id)).toEqual(stored);
    expect(dlq.get('dlq_00000000000000000000000000')).toBeUndefined();
    expect(dlq.get('not an id')).toBeUndefined();
    expect(dlq.count()).toBe(1);
  });

  it('lists newest first, a page at a time, with a cursor', async () => {
    const root = openEnv(freshPath());
    const clock = manualClock();
    const dlq = new DeadLetters(() => root, { now: clock.now });
    const ids: string[] = [];
    for (let n = 0; n < 7; n++) {
      ids.push((await dlq.add(request(n))).id);
      clock.advance(1_000);
    }
    const newestFirst = [...ids].reverse();

    const first = dlq.list({ limit: 3 });
    expect(first.entries.map((e) => e.id)).toEqual(newestFirst.slice(0, 3));
    expect(first.next).toBe(newestFirst[2]);
    const second = dlq.list({ limit: 3, before: first.next! });
    expect(second.entries.map((e) => e.id)).toEqual(newestFirst.slice(3, 6));
    const third = dlq.list({ limit: 3, before: second.next! });
    expect(third.entries.map((e) => e.id)).toEqual(newestFirst.slice(6));
    expect(third.next).toBeUndefined();

    // An exact fit has no next page.
    expect(dlq.list({ limit: 7 }).next).toBeUndefined();
    expect(dlq.list().entries).toHaveLength(7);
    // A cursor that is not (or no longer) stored still pages from its place in time.
    expect(dlq.list({ before: 'dlq_00000000000000000000000000' }).entries).toEqual([]);
    expect(() => dlq.list({ limit: 0 })).toThrow(/limit must be an integer from 1 to 500/);
    expect(() => dlq.list({ limit: 501 })).toThrow(RangeError);
    expect(() => dlq.list({ before: 'x' })).toThrow(/before must be a dead-letter id/);
  });

  it('removes an entry durably, and says whether it existed', async () => {
    const root = openEnv(freshPath());
    const dlq = new DeadLetters(() => root);
    const { id } = await dlq.add(request());
    await expect(dlq.remove(id)).resolves.toBe(true);
    expect(dlq.get(id)).toBeUndefined();
    expect(dlq.count()).toBe(0);
    await expect(dlq.remove(id)).resolves.toBe(false);
    await expect(dlq.remove('nope')).resolves.toBe(false);
  });

  it('records replays in order, keeps concurrent ones, and bounds how many are kept', async () => {
    const root = openEnv(freshPath());
    const dlq = new DeadLetters(() => root);
    const { id } = await dlq.add(request());
    const first = await dlq.recordReplay(id, { at: 10, outcome: 'UPSTREAM_TIMEOUT', requestId: 'req_1' });
    expect(first?.replays).toEqual([{ at: 10, outcome: 'UPSTREAM_TIMEOUT', requestId: 'req_1' }]);
    await Promise.all([
      dlq.recordReplay(id, { at: 20, outcome: 'ok', requestId: 'req_2' }),
      dlq.recordReplay(id, { at: 30, outcome: 'ok', requestId: 'req_3' }),
    ]);
    expect(dlq.get(id)?.replays.map((r) => r.requestId)).toEqual(['req_1', 'req_2', 'req_3']);
    await expect(dlq.recordReplay('dlq_00000000000000000000000000', { at: 1, outcome: 'ok', requestId: 'r' })).resolves.toBeUndefined();

    for (let n = 0; n < DLQ_MAX_REPLAYS_KEPT; n++) await dlq.recordReplay(id, { at: 100 + n, outcome: 'ok', requestId: `loop_${n}` });
    const replays = dlq.get(id)!.replays;
    expect(replays).toHaveLength(DLQ_MAX_REPLAYS_KEPT);
    expect(replays.at(-1)?.requestId).toBe(`loop_${DLQ_MAX_REPLAYS_KEPT - 1}`);
  });

  it('gives sortable, unique ids under a burst in one millisecond', async () => {
    const root = openEnv(freshPath());
    const clock = manualClock();
    const dlq = new DeadLetters(() => root, { now: clock.now });
    const stored = await Promise.all(Array.from({ length: 200 }, (_, n) => dlq.add(request(n))));
    const ids = stored.map((e) => e.id);
    expect(new Set(ids).size).toBe(200);
    expect([...ids].sort()).toEqual(ids); // made in call order, and they sort in it
    expect(dlq.count()).toBe(200);
    expect(dlq.list({ limit: 200 }).entries.map((e) => e.id)).toEqual([...ids].reverse());
  });

  it('keeps ids increasing when the clock steps back', () => {
    const newId = monotonicIdSource(() => new Uint8Array(10));
    const a = newId(2_000);
    const b = newId(1_000); // the clock stepped back: the same time, the random part + 1
    const c = newId(2_000);
    expect(a < b && b < c).toBe(true);
    expect(deadLetterIdTime(c)).toBe(2_000);
  });

  it('moves to the next millisecond rather than repeat an id when the random part wraps', () => {
    const newId = monotonicIdSource(() => new Uint8Array(10).fill(0xff));
    const a = newId(2_000);
    const b = newId(2_000);
    expect(b > a).toBe(true);
    expect(deadLetterIdTime(b)).toBe(2_001);
    expect(isDeadLetterId(a) && isDeadLetterId(b)).toBe(true);
  });

  it('entries survive closing and reopening the environment', async () => {
    const path = freshPath();
    const root = openStore({ path, mapSizeBytes: MAP_SIZE });
    const stored = await new DeadLetters(() => root).add(request());
    await root.close();
    const again = openEnv(path);
    const dlq = new DeadLetters(() => again);
    expect(dlq.get(stored.id)).toEqual(stored);
    expect(dlq.count()).toBe(1);
  });

  it('follows the store across a restart (a new root)', async () => {
    const path = freshPath();
    let root: RootDatabase | undefined = openStore({ path, mapSizeBytes: MAP_SIZE });
    const dlq = new DeadLetters(() => root);
    const before = await dlq.add(request(1));
    await root.close();
    root = undefined;
    await expect(dlq.add(request(2))).rejects.toThrow(DeadLetterStoreError);
    root = openEnv(path);
    const after = await dlq.add(request(3));
    expect(dlq.list().entries.map((e) => e.id)).toEqual([after.id, before.id]);
  });

  it('rejects clearly when the store is down, and refuses reads rather than answer "empty"', async () => {
    const dlq = new DeadLetters(() => undefined);
    const error = await dlq.add(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadLetterStoreError);
    expect(error).toMatchObject({ code: 'DLQ_UNAVAILABLE', message: 'The dead-letter queue could not store the request: the store is down (restarting)' });
    expect(dlq.available).toBe(false);
    expect(() => dlq.get('dlq_00000000000000000000000000')).toThrow(DeadLetterStoreError);
    expect(() => dlq.list()).toThrow(DeadLetterStoreError);
    expect(() => dlq.count()).toThrow(DeadLetterStoreError);
    await expect(dlq.remove('dlq_00000000000000000000000000')).rejects.toThrow(DeadLetterStoreError);
    await expect(dlq.recordReplay('dlq_00000000000000000000000000', { at: 1, outcome: 'ok', requestId: 'r' })).rejects.toThrow(
      DeadLetterStoreError,
    );
  });

  it('regression: a write on a closing env crashed the process (uncaught, from lmdb-js\'s commit timer); now it rejects clearly', async () => {
    const root = openStore({ path: freshPath(), mapSizeBytes: MAP_SIZE });
    const dlq = new DeadLetters(() => root);
    await dlq.add(request());
    const closing = root.close();
    await expect(dlq.add(request())).rejects.toThrow('The dead-letter queue could not store the request: the store is closing (restarting)');
    await closing;
    await expect(dlq.add(request())).rejects.toThrow('The dead-letter queue could not store the request: the store is closed (restarting)');
    expect(() => dlq.count()).toThrow(DeadLetterStoreError);
  });

  it('syncs explicitly on the default store, opened with noSync (where lmdb-js never flushes)', async () => {
    const root = openEnv(freshPath());
    const sync = vi.spyOn(root as unknown as { sync(cb: (error?: unknown) => void): void }, 'sync');
    const dlq = new DeadLetters(() => root);
    const { id } = await dlq.add(request());
    expect(sync).toHaveBeenCalledTimes(1);
    expect(dlq.get(id)?.id).toBe(id);
  });

  it('does not force an extra sync with store.syncEachCommit (overlappingSync): flushed covers it', async () => {
    const root = openStore({ path: freshPath(), mapSizeBytes: MAP_SIZE, syncEachCommit: true });
    opened.push(root);
    const sync = vi.spyOn(root as unknown as { sync(cb: (error?: unknown) => void): void }, 'sync');
    await new DeadLetters(() => root).add(request());
    expect(sync).not.toHaveBeenCalled();
  });
});

describe('DeadLetters and kill -9', () => {
  const built = (file: string) => fileURLToPath(new URL(`../../dist/src/${file}`, import.meta.url));
  const DLQ_JS = built('dlq/dead-letters.js');
  const STORE_JS = built('store/open-store.js');

  it('an entry whose add resolved is there after the process is SIGKILLed', async () => {
    for (const file of [DLQ_JS, STORE_JS]) {
      if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does).`);
    }
    const path = freshPath();
    const script = join(dir, 'add-then-wait.mjs');
    writeFileSync(
      script,
      `import { DeadLetters } from ${JSON.stringify(DLQ_JS)};
import { openStore } from ${JSON.stringify(STORE_JS)};
const root = openStore({ path: process.argv[2], mapSizeBytes: ${MAP_SIZE} });
const dlq = new DeadLetters(() => root);
const entry = await dlq.add(JSON.parse(process.argv[3]));
process.stdout.write(entry.id + '\\n');
// Keep writing so the kill lands mid-batch, and never exit on our own.
setInterval(() => { void root.put('noise-' + Date.now(), { x: 1 }); }, 1);
`,
    );
    const child = spawn(process.execPath, [script, path, JSON.stringify(request(42))], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const id = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const newline = out.indexOf('\n');
        if (newline === -1) return;
        // Killed the moment the id is known: no close, no exit handler, no flush.
        process.kill(child.pid!, 'SIGKILL');
        resolve(out.slice(0, newline));
      });
      child.on('exit', () => reject(new Error(`the child exited before printing an id: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const root = openEnv(path);
    const entry = new DeadLetters(() => root).get(id);
    expect(entry).toMatchObject({ id, agentId: 'agent-42', attempts: request(42).attempts });
  });
});
