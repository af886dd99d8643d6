import { accessSync, constants, mkdirSync } from 'node:fs';
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
}

/**
 * Opens (creating if needed) the LMDB environment at `path`, with msgpackr encoding.
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
  try {
    return open({ path, mapSize: options.mapSizeBytes, encoding: 'msgpack', compression: false });
  } catch (error) {
    throw new StoreError(path, `LMDB refused it (${(error as Error).message})`, { cause: error });
  }
}
