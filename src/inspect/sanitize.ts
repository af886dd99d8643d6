import { REDACTED, scrubSecrets } from '../log/logger.js';

/** Keys whose values never leave for the inspector: the process env (every key in it) and the runtime that holds it. */
const HIDDEN_KEYS: ReadonlyMap<string, string> = new Map([
  ['env', REDACTED],
  ['adminKey', REDACTED],
  ['runtime', '[Runtime]'],
]);
const MAX_DEPTH = 10;

/**
 * A copy of an inspection event that is safe to send to the Stately inspector (whose UI is
 * hosted online): actor inputs carry the runtime (and through it `process.env`, the admin
 * key…), so values under `env`, `adminKey` and `runtime` are replaced, every string is
 * scrubbed of the secret values named in the config (`exact`) and of key-like patterns
 * (the logger's scrubber), cycles are cut and depth is bounded. Only `--inspect` pays for it.
 */
export function sanitizeInspection(exact: readonly string[]): <T>(event: T) => T {
  const secrets = exact.filter((s) => s.length >= 8);
  const scrub = (text: string) => {
    let out = text;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return scrubSecrets(out);
  };
  const walk = (value: unknown, depth: number, seen: WeakSet<object>, converted = false): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (value === null || typeof value !== 'object') return typeof value === 'function' ? { type: (value as { name?: string }).name || 'function' } : value;
    if (seen.has(value)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[Object]';
    // toJSON once per value (XState's own toJSON may return objects that have one too).
    const json = (value as { toJSON?: () => unknown }).toJSON;
    if (!converted && typeof json === 'function') return walk(json.call(value), depth + 1, seen, true);
    seen.add(value);
    try {
      if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1, seen));
      if (value instanceof Map) return walk(Object.fromEntries(value), depth, seen);
      if (value instanceof Set) return walk([...value], depth, seen);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = HIDDEN_KEYS.get(key) ?? walk(item, depth + 1, seen);
      return out;
    } finally {
      seen.delete(value);
    }
  };
  return <T>(event: T) => {
    try {
      return walk(event, 0, new WeakSet()) as T;
    } catch {
      // Never let an odd value break the process: send only what kind of event it was.
      const { type, sessionId, rootId, id, createdAt, _version } = event as Record<string, unknown>;
      return { type, sessionId, rootId, id, createdAt, _version, snapshot: { status: 'active' }, event: { type: 'unserialisable' } } as T;
    }
  };
}
