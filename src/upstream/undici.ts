import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher, Pool as UndiciPool } from 'undici';

/**
 * The parts of undici the optimizer uses, loaded on their own. `import … from 'undici'` loads the
 * whole package (fetch, WebSocket, caches, mocks, interceptors, SQLite store): measured in an empty
 * Node 20, 5.0 MB of heap and +21 MiB of RSS, against 1.8 MB and +12 MiB for the pool, the agent and
 * the `request` API. Every byte of heap a process keeps counts nearly twice at peak (V8 lets the old
 * generation grow past what survived by `runtime.heapGrowingPercent`), and at 500 connections the
 * pass-through's peak RSS went from 159 to 152 MiB (bench:ab).
 *
 * These are undici's own files (undici is pinned to an exact version in package.json; undici has
 * no `exports` map, so its files are addressable), and test/upstream/undici.test.ts checks that
 * they are the very classes and function the package's index exports, so an upgrade that moves
 * them fails a test instead of the optimizer. Types come from the package's declarations.
 */
const load = createRequire(import.meta.url);

export const Pool = load('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const Agent = load('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;

type RequestApi = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
const requestApi = (load('undici/lib/api/index.js') as { request: RequestApi }).request;
const { getGlobalDispatcher } = load('undici/lib/global.js') as { getGlobalDispatcher: () => Dispatcher };

/** `dispatcher.request(options)`: undici's request API (the package mixes it into every dispatcher's prototype; this does not need that). */
export function requestOn(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return requestApi.call(dispatcher, options);
}

export type UrlRequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  method?: Dispatcher.HttpMethod;
  /** Default: undici's global dispatcher. */
  dispatcher?: Dispatcher;
};

/** undici's `request(url, options)`: the URL's origin and path (with its query) on `options.dispatcher`. */
export function request(url: string | URL, options: UrlRequestOptions = {}): Promise<Dispatcher.ResponseData> {
  const { dispatcher = getGlobalDispatcher(), ...rest } = options;
  const parsed = typeof url === 'string' ? new URL(url) : url;
  return requestOn(dispatcher, {
    ...rest,
    origin: parsed.origin,
    path: parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  });
}
