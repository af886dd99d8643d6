/**
 * Loading-time work on the `discovery` section (called by load.ts): local probe URLs are
 * normalised to server roots, and what JSON Schema cannot say is checked.
 */
import type { ConfigProblem } from './config-error.js';
import { serverRoot } from '../discovery/server-root.js';

type JsonObject = Record<string, unknown>;

function isRecord(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `discovery.local[].baseUrl` → the server root (`http://h:8000/v1/` → `http://h:8000`), in place. */
export function normaliseDiscovery(discovery: unknown): void {
  if (!isRecord(discovery) || !Array.isArray(discovery.local)) return;
  for (const entry of discovery.local) {
    if (isRecord(entry) && typeof entry.baseUrl === 'string') entry.baseUrl = serverRoot(entry.baseUrl);
  }
}

/**
 * - two probes of one server would add it twice;
 * - a probe's explicit `id` may not be a configured backend's id (unless that backend is the same server,
 *   in which case the configured backend is the one probed);
 * - a probe must time out before the next round starts.
 */
export function checkDiscovery(discovery: unknown, backends: [number, JsonObject][], problems: ConfigProblem[]): void {
  if (!isRecord(discovery)) return;
  if (typeof discovery.timeoutMs === 'number' && typeof discovery.intervalMs === 'number' && discovery.timeoutMs > discovery.intervalMs) {
    problems.push({ path: '/discovery/timeoutMs', message: `must be <= intervalMs (${discovery.intervalMs})` });
  }
  if (!Array.isArray(discovery.local)) return;
  const configuredRoots = new Map<string, string>();
  for (const [, backend] of backends) {
    if (typeof backend.id === 'string' && typeof backend.baseUrl === 'string') configuredRoots.set(backend.id, serverRoot(backend.baseUrl));
  }
  const seen = new Map<string, number>();
  discovery.local.forEach((entry, i) => {
    if (!isRecord(entry) || typeof entry.baseUrl !== 'string') return;
    const first = seen.get(entry.baseUrl);
    if (first !== undefined) problems.push({ path: `/discovery/local/${i}/baseUrl`, message: `probes the same server as /discovery/local/${first}` });
    else seen.set(entry.baseUrl, i);
    if (typeof entry.id === 'string' && configuredRoots.has(entry.id) && configuredRoots.get(entry.id) !== entry.baseUrl) {
      problems.push({ path: `/discovery/local/${i}/id`, message: `"${entry.id}" is already the id of a configured backend at another URL` });
    }
  });
}
