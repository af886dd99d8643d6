/**
 * Just enough of the Prometheus text exposition format to read a few gauges from a server's
 * `/metrics` (vLLM's): `name{label="v",...} value [timestamp]` lines, `#` comments skipped.
 */

/** The values of each wanted metric, one per sample line (one per label set). */
export function readSamples(text: string, wanted: ReadonlySet<string>): Map<string, number[]> {
  const found = new Map<string, number[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const nameEnd = brace !== -1 && (space === -1 || brace < space) ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    // The value follows the label set (whose quoted values may hold spaces and braces).
    const rest = brace === nameEnd ? line.slice(closingBrace(line, brace) + 1) : line.slice(nameEnd);
    const value = parseValue(rest.trim().split(/\s+/)[0] ?? '');
    if (value === undefined) continue;
    const values = found.get(name);
    if (values) values.push(value);
    else found.set(name, [value]);
  }
  return found;
}

/** Index of the `}` closing the label set opened at `open`, quotes and escapes respected. */
function closingBrace(line: string, open: number): number {
  let quoted = false;
  for (let i = open + 1; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '}') return i;
  }
  return line.length;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === '' || text === 'NaN') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** What a vLLM server's `/metrics` says about its load (summed over its engines / models). */
export interface VllmMetrics {
  /** `vllm:num_requests_running`: sequences in the running batch. */
  requestsRunning: number | null;
  /** `vllm:num_requests_waiting`: requests queued inside vLLM. */
  requestsWaiting: number | null;
  /** `vllm:kv_cache_usage_perc` (or the older `vllm:gpu_cache_usage_perc`): KV-cache use, 0–1 (the highest engine's). */
  kvCacheUsage: number | null;
}

const RUNNING = 'vllm:num_requests_running';
const WAITING = 'vllm:num_requests_waiting';
const KV_CACHE = 'vllm:kv_cache_usage_perc';
const GPU_CACHE = 'vllm:gpu_cache_usage_perc';
const VLLM_GAUGES: ReadonlySet<string> = new Set([RUNNING, WAITING, KV_CACHE, GPU_CACHE]);

/** Reads vLLM's load gauges from its `/metrics` text; a gauge it does not expose is `null`. */
export function vllmMetrics(text: string): VllmMetrics {
  const samples = readSamples(text, VLLM_GAUGES);
  const sum = (name: string) => {
    const values = samples.get(name);
    return values === undefined ? null : values.reduce((a, b) => a + b, 0);
  };
  const cache = samples.get(KV_CACHE) ?? samples.get(GPU_CACHE);
  return {
    requestsRunning: sum(RUNNING),
    requestsWaiting: sum(WAITING),
    kvCacheUsage: cache === undefined ? null : Math.max(...cache),
  };
}
