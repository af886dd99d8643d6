import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';

/** The store could not be opened; the message names the path and the reason. */
export class StoreError extends Error {
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot open the store at ${path}: ${reason}`, options);
    this.name = 'StoreError';
  }
}

export interface StoreOptions {
  path: string;
  mapSizeBytes: number;
  /**
   * fsync every commit. Without it (`noSync`) commits land in the page cache: a process crash
   * keeps them, a machine crash may lose the last seconds. The dead-letter queue syncs its own
   * writes explicitly either way (src/dlq/dead-letters.ts).
   */
  syncEachCommit?: boolean;
}

/**
 * Opens (creating if needed) the LMDB environment at `path`, with msgpackr encoding. By default
 * commits are not fsynced (`noSync`): a cache write then costs the request path ≈ 45 µs less CPU
 * (bench/RESULTS.md, 2026-11-28), and LMDB keeps the environment consistent through a process crash.
 * Fails with a StoreError naming the path when it is not a writable directory or the
 * environment is corrupt.
 */
export function openStore(options: StoreOptions): RootDatabase {
  const { path } = options;
  try {
    mkdirSync(path, { recursive: true });
    accessSync(path, constants.W_OK | constants.R_OK);
  } catch (error) {
    throw new StoreError(path, `the directory is not writable (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  checkDataFile(path);
  try {
    return open({ path, mapSize: options.mapSizeBytes, maxDbs: MAX_DBS, encoding: 'msgpack', compression: false, noSync: options.syncEachCommit !== true });
  } catch (error) {
    throw new StoreError(path, `LMDB refused it (${(error as Error).message})`, { cause: error });
  }
}

/**
 * Named databases open at once: the cache's ring of eight generations and its stored indexes
 * (src/workers/cache-db.ts), the dead-letter queue, the metrics rollups, and the earlier layouts'
 * databases while they are dropped. lmdb-js's default is 12.
 */
const MAX_DBS = 32;

/** LMDB's meta page: the magic number (little-endian) sits after the 24-byte page header. */
const LMDB_MAGIC = 0xbeefc0de;
const MAGIC_OFFSET = 24;

/**
 * Refuses a `data.mdb` that is not an LMDB environment before LMDB maps it: the native
 * library can crash the process (SIGSEGV) on a garbage file instead of returning an error.
 * Only the meta page is checked; deeper damage is LMDB's to report.
 */
function checkDataFile(path: string): void {
  const file = join(path, 'data.mdb');
  if (!existsSync(file)) return;
  const header = Buffer.alloc(MAGIC_OFFSET + 4);
  let fd: number | undefined;
  let read = 0;
  try {
    fd = openSync(file, 'r');
    read = readSync(fd, header, 0, header.length, 0);
  } catch (error) {
    throw new StoreError(path, `data.mdb cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (read === 0) return; // an empty file: LMDB initialises it
  if (read < header.length || header.readUInt32LE(MAGIC_OFFSET) !== LMDB_MAGIC) {
    throw new StoreError(path, 'data.mdb is not an LMDB environment (corrupt, or another file): move it away or point store.path elsewhere');
  }
}
