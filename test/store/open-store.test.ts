import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, StoreError } from '../../src/store/open-store.js';

const dir = mkdtempSync(join(tmpdir(), 'open-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = (path: string) => ({ path, mapSizeBytes: 64 * 1024 * 1024 });

describe('openStore', () => {
  it('creates the directory, stores msgpack values, and keeps them across a reopen', async () => {
    const path = join(dir, 'fresh', 'nested');
    const db = openStore(options(path));
    await db.put('k', { answer: 42, bytes: new Uint8Array([1, 2]) });
    await db.close();
    const again = openStore(options(path));
    const value = again.get('k') as { answer: number; bytes: Uint8Array };
    expect(value.answer).toBe(42);
    expect([...value.bytes]).toEqual([1, 2]);
    await again.close();
  });

  it('refuses a path it cannot write, naming it', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const error = (() => {
      try {
        openStore(options(join(file, 'store')));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(join(file, 'store'));
  });

  it('regression: a garbage data.mdb is refused with a clear error instead of crashing the process', () => {
    const path = join(dir, 'corrupt');
    openStore(options(path)).close();
    writeFileSync(join(path, 'data.mdb'), Buffer.alloc(65536, 0x5a));
    expect(() => openStore(options(path))).toThrow(StoreError);
    expect(() => openStore(options(path))).toThrow(/data.mdb is not an LMDB environment/);
  });
});
