/**
 * `npm run bench`: the pass-through suite. Starts a loopback OpenAI-format upstream and measures,
 * in one run, the upstream called directly, a bare node:http + undici proxy, the optimizer with cache
 * and dedupe off (every request goes upstream), the optimizer with cache, dedupe and limits on
 * answering unique deterministic requests (every one a cache miss that goes upstream and writes the
 * cache), and that configuration answering one deterministic request over and over (cache hits):
 * req/s and latency at several concurrencies, time to first streamed chunk, and the server's RSS
 * under the largest load. The targets run side by side and are measured in turn for each cell, so a
 * disturbance on a shared machine hits all columns alike. Prints a table with the targets, writes
 * bench/results/<timestamp>-passthrough.json and prints a markdown block for bench/RESULTS.md.
 *
 * Settings come from env vars (`node dist/bench/run.js --help`); every load loop is bounded by
 * time and count. See bench/README.md for what each number means.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { processTicks, TICKS_PER_S, watchForeignCpu } from './lib/cpu.js';
import { FAR_REQUESTS_PER_MINUTE, FAR_TOKENS_PER_MINUTE, optimizerConfig } from './lib/optimizer-config.js';
import { BENCH_HEADERS, chatBody, runLoad } from './lib/load.js';
import type { BodyMode, LoadResult, Percentiles } from './lib/load.js';
import { machineFacts } from './lib/machine.js';
import { freePort, hasTaskset, killAllSync, onExit, pinSelf, sampleRss, startNode, startOptimizerProcess } from './lib/processes.js';
import type { Started } from './lib/processes.js';
import { buildReport, markdownBlock, NOISY_FOREIGN_CPU_PCT } from './lib/report.js';
import { fmtInt, fmtMiB, fmtMs, formatText } from './lib/table.js';
import { cellKey, isOptimizer, TARGET_BODIES, TARGET_IDS, TARGET_LABELS } from './lib/types.js';
import type { CellResult, Settings, TargetId, TargetResult } from './lib/types.js';
import { runWrk, WRK_INSTALL_HINT, wrkVersion, writeWrkScripts } from './lib/wrk.js';
import { envNum } from './lib/env.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist');

// ---------------------------------------------------------------------------------------------
// Settings

function usage(): string {
  return `npm run bench  (builds first via prebench, then node dist/bench/run.js)

env vars [defaults]:
  BENCH_DURATION_S          measured seconds per cell and target [5]
  BENCH_WARMUP_S            unmeasured warm-up seconds before each measurement [2]
  BENCH_ROUNDS              measure every cell this many times, report medians [1]
  BENCH_CONCURRENCY         non-streaming concurrencies [1,50,500]
  BENCH_STREAM_CONCURRENCY  streaming concurrencies, time to first chunk ("none" to skip) [1,50]
  BENCH_CACHE_HIT_CONCURRENCY  non-streaming concurrencies of the cache-hit target ("none" to skip) [1,50]
  BENCH_TARGETS             columns to measure [${TARGET_IDS.join(',')}]
  BENCH_LOADGEN             auto | wrk | builtin [auto: wrk when installed]
  BENCH_PIN                 0 disables pinning (server CPU 0; upstream, load, bench CPU 1) [1]
  BENCH_UPSTREAM            auto | loopback | stub [auto: dist/src/loopback if built, else the stub]
  BENCH_UPSTREAM_LATENCY_MS upstream --latency-ms [0]
  BENCH_UPSTREAM_CHUNKS     upstream --chunks for streams [its default]
  BENCH_MAX_REQUESTS        bound on requests per measurement [2000000]
  BENCH_PROXY_CONNECTIONS   bare proxy's upstream pool size [128]
  BENCH_OPTIMIZER_SCRIPT    optimizer entry point [dist/src/main.js]
  BENCH_RESULTS_DIR         where the JSON goes [bench/results]

flags:
  --help                    this text
  --write-wrk-script DIR    write the wrk Lua scripts to DIR and exit: bench-post.lua (unique bodies),
                            bench-post-det.lua (unique, temperature 0), bench-post-fixed.lua (one
                            fixed temperature-0 body: cache hits); arguments after "--": a nonce

install wrk: ${WRK_INSTALL_HINT}`;
}


function envList(name: string, dflt: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  if (raw.trim() === 'none') return [];
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`${name} must be a comma-separated list of positive integers (or "none"), got "${raw}"`);
  }
  return list;
}

function envEnum<T extends string>(name: string, allowed: readonly T[], dflt: T): T {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function readSettings(): Settings {
  const targetsRaw = process.env['BENCH_TARGETS'];
  const targets = (targetsRaw ? targetsRaw.split(',').map((s) => s.trim()) : [...TARGET_IDS]) as TargetId[];
  for (const t of targets) {
    if (!(t in TARGET_LABELS)) throw new Error(`BENCH_TARGETS: unknown target "${t}" (${TARGET_IDS.join(', ')})`);
  }
  const concurrency = envList('BENCH_CONCURRENCY', [1, 50, 500]);
  const cacheHitConcurrency = envList('BENCH_CACHE_HIT_CONCURRENCY', [1, 50]);
  const outside = cacheHitConcurrency.filter((c) => !concurrency.includes(c));
  if (outside.length > 0) {
    throw new Error(`BENCH_CACHE_HIT_CONCURRENCY: ${outside.join(',')} not in BENCH_CONCURRENCY (${concurrency.join(',')})`);
  }
  return {
    durationS: envNum('BENCH_DURATION_S', 5, 1),
    warmupS: envNum('BENCH_WARMUP_S', 2, 0),
    rounds: Math.floor(envNum('BENCH_ROUNDS', 1, 1)),
    concurrency,
    streamConcurrency: envList('BENCH_STREAM_CONCURRENCY', [1, 50]),
    cacheHitConcurrency,
    targets,
    loadgen: envEnum('BENCH_LOADGEN', ['auto', 'wrk', 'builtin'] as const, 'auto'),
    pin: process.env['BENCH_PIN'] !== '0',
    serverCpu: '0',
    loadCpu: '1',
    upstream: envEnum('BENCH_UPSTREAM', ['auto', 'loopback', 'stub'] as const, 'auto'),
    upstreamLatencyMs: envNum('BENCH_UPSTREAM_LATENCY_MS', 0, 0),
    upstreamChunks: envNum('BENCH_UPSTREAM_CHUNKS', 0, 0),
    maxRequests: Math.floor(envNum('BENCH_MAX_REQUESTS', 2_000_000, 1)),
    proxyConnections: Math.floor(envNum('BENCH_PROXY_CONNECTIONS', 128, 1)),
    optimizerScript: resolve(ROOT, process.env['BENCH_OPTIMIZER_SCRIPT'] ?? 'dist/src/main.js'),
    resultsDir: resolve(ROOT, process.env['BENCH_RESULTS_DIR'] ?? 'bench/results'),
  };
}

/** The configs in words, for the report. */
const CONFIG_NOTES = [
  `Optimizer configs: **optimizer**: cache and dedupe off, limits ${FAR_REQUESTS_PER_MINUTE.toLocaleString('en-US')} req/min (global and per agent); ` +
    `**optimizer (cache+dedupe+limits on)** and **optimizer (cache hit)**: cache on (TTL 1 h, 100,000 entries), dedupe on (5 s window), ` +
    `limits ${FAR_REQUESTS_PER_MINUTE.toLocaleString('en-US')} req/min and ${FAR_TOKENS_PER_MINUTE.toLocaleString('en-US')} tokens/min (global and per agent)`,
  'Bodies: direct, bare proxy, optimizer: unique (`"hello <nonce>-<n>"`); cache+dedupe+limits on: unique with `"temperature":0` ' +
    '(every request a cache miss that goes upstream and writes the cache); cache hit: one fixed body with `"temperature":0` (all hits after the first)',
];

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// Targets and cells

interface Target {
  id: TargetId;
  origin: string;
  chatPath: string;
  body: BodyMode;
  /** The process whose memory is sampled (the upstream itself for `direct`). */
  pid: number;
  proc: Started | undefined;
}

interface RunContext {
  settings: Settings;
  useWrk: boolean;
  wrkScripts: Record<BodyMode, string> | undefined;
  runNonce: string;
  /** Every process the benchmark started: their CPU is ours, not a disturbance. */
  ourPids: number[];
}

/**
 * One request of each kind, with the target's own bodies, so a broken target is reported instead of
 * benchmarked. The cache-hit target must answer its fixed body from the cache (`x-cache: hit`) from
 * the second time on; the cache+dedupe+limits target must answer its unique bodies as misses.
 */
async function smokeTest(t: Target, runNonce: string): Promise<string | undefined> {
  const url = t.origin + t.chatPath;
  const nonce = t.body === 'fixed-det' ? fixedNonce(runNonce) : `${runNonce}-smoke`;
  const send = async (stream: boolean, n: number): Promise<{ status: number; text: string; cache: string | undefined }> => {
    const res = await request(url, {
      method: 'POST',
      headers: BENCH_HEADERS,
      body: chatBody(nonce, n, stream, t.body),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const cache = res.headers['x-cache'];
    return { status: res.statusCode, text: await res.body.text(), cache: typeof cache === 'string' ? cache : undefined };
  };
  try {
    const a = await send(false, 0);
    if (a.status !== 200) return `non-streaming request: HTTP ${a.status} ${a.text.slice(0, 300)}`;
    const parsed = JSON.parse(a.text) as { choices?: unknown };
    if (!Array.isArray(parsed.choices)) return `non-streaming request: no choices in ${a.text.slice(0, 300)}`;
    if (t.id === 'features' && a.cache !== 'miss') return `unique deterministic request: x-cache ${a.cache ?? '(none)'}, expected miss`;
    if (t.id === 'cache-hit') {
      const again = await send(false, 0);
      if (again.status !== 200) return `repeated request: HTTP ${again.status} ${again.text.slice(0, 300)}`;
      if (again.cache !== 'hit') return `repeated deterministic request: x-cache ${again.cache ?? '(none)'}, expected hit`;
      if (again.text !== a.text) return 'repeated deterministic request: the cached answer differs from the first';
    }
    const st = await send(true, 1);
    if (st.status !== 200) return `streaming request: HTTP ${st.status} ${st.text.slice(0, 300)}`;
    if (!st.text.includes('data: [DONE]')) return `streaming request: no "data: [DONE]" in ${st.text.slice(0, 300)}`;
    if (t.id === 'features' && st.cache !== 'miss') return `unique deterministic stream: x-cache ${st.cache ?? '(none)'}, expected miss`;
    return undefined;
  } catch (err) {
    return `smoke request failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The content of the cache-hit target's one fixed body (the same in the smoke test and every cell). */
const fixedNonce = (runNonce: string): string => `${runNonce}-fixed`;

/**
 * Calls the optimizer has made to its backends so far (`succeeded + failed` on /admin/backends, which
 * the transport updates every 200 ms), or undefined when unreadable.
 */
async function upstreamCallsSoFar(origin: string): Promise<number | undefined> {
  try {
    const res = await request(`${origin}/admin/backends`, { method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) return undefined;
    const list = JSON.parse(text) as { succeeded?: unknown; failed?: unknown }[];
    if (!Array.isArray(list)) return undefined;
    let n = 0;
    for (const b of list) n += (typeof b.succeeded === 'number' ? b.succeeded : 0) + (typeof b.failed === 'number' ? b.failed : 0);
    return n;
  } catch {
    return undefined;
  }
}

/** Longer than the transport's stats interval (200 ms), so the counters include the calls finished by then. */
const STATS_SETTLE_MS = 500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runCell(ctx: RunContext, t: Target, stream: boolean, c: number, tag: string): Promise<CellResult> {
  const { settings } = ctx;
  const once = (durationS: number, phase: string): Promise<LoadResult> => {
    const nonce = t.body === 'fixed-det' ? fixedNonce(ctx.runNonce) : `${ctx.runNonce}-${tag}-${phase}`;
    if (!stream && ctx.useWrk && ctx.wrkScripts !== undefined) {
      return runWrk({
        url: t.origin + t.chatPath,
        concurrency: c,
        durationS,
        script: ctx.wrkScripts[t.body],
        nonce,
        cpu: settings.pin ? settings.loadCpu : undefined,
      });
    }
    return runLoad({
      origin: t.origin,
      path: t.chatPath,
      concurrency: c,
      durationMs: durationS * 1000,
      maxRequests: settings.maxRequests,
      stream,
      nonce,
      bodyMode: t.body,
    });
  };
  if (settings.warmupS > 0) await once(settings.warmupS, 'warmup');
  const counted = isOptimizer(t.id);
  let callsBefore: number | undefined;
  if (counted) {
    await sleep(STATS_SETTLE_MS);
    callsBefore = await upstreamCallsSoFar(t.origin);
  }
  const rss = sampleRss(t.pid);
  const cpu = watchForeignCpu(ctx.ourPids);
  const serverTicks = processTicks(t.pid, false);
  const result = await once(settings.durationS, 'measure');
  const serverTicksAfter = processTicks(t.pid, false);
  const out: CellResult = { ...result, rss: rss.stop(), foreignCpuPct: cpu.stop(), rounds: 1 };
  if (serverTicks !== undefined && serverTicksAfter !== undefined && result.ok > 0) {
    out.serverCpuUsPerRequest = ((serverTicksAfter - serverTicks) / TICKS_PER_S / result.ok) * 1e6;
  }
  if (counted && callsBefore !== undefined) {
    await sleep(STATS_SETTLE_MS);
    const callsAfter = await upstreamCallsSoFar(t.origin);
    if (callsAfter !== undefined) out.upstreamCalls = callsAfter - callsBefore;
  }
  return out;
}

function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function medianPercentiles(ps: Percentiles[]): Percentiles {
  return {
    p50: median(ps.map((p) => p.p50)),
    p90: median(ps.map((p) => p.p90)),
    p99: median(ps.map((p) => p.p99)),
    max: Math.max(...ps.map((p) => p.max)),
    mean: median(ps.map((p) => p.mean)),
  };
}

/** Rounds → one result: medians of rates and percentiles, sums of counts, maxima of memory and noise. */
function combine(rounds: CellResult[]): CellResult {
  const [first] = rounds;
  if (!first) throw new Error('combine: no rounds');
  if (rounds.length === 1) return first;
  const statuses: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const ttfb = rounds.map((r) => r.ttfbMs).filter((p): p is Percentiles => p !== undefined);
  const rss = rounds.map((r) => r.rss).filter((x) => x !== undefined);
  const foreign = rounds.map((r) => r.foreignCpuPct).filter((x) => x !== undefined);
  const calls = rounds.map((r) => r.upstreamCalls);
  const peakRss = rss.reduce<(typeof rss)[number] | undefined>((a, x) => (a === undefined || x.peakRssKiB > a.peakRssKiB ? x : a), undefined);
  return {
    ...first,
    durationS: rounds.reduce((a, r) => a + r.durationS, 0),
    requests: rounds.reduce((a, r) => a + r.requests, 0),
    ok: rounds.reduce((a, r) => a + r.ok, 0),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    statuses,
    firstError: rounds.find((r) => r.firstError !== undefined)?.firstError,
    rps: median(rounds.map((r) => r.rps)),
    latencyMs: medianPercentiles(rounds.map((r) => r.latencyMs)),
    ttfbMs: ttfb.length > 0 ? medianPercentiles(ttfb) : undefined,
    rss:
      peakRss !== undefined
        ? {
            peakRssKiB: peakRss.peakRssKiB,
            peakFileKiB: peakRss.peakFileKiB,
            hwmKiB: Math.max(...rss.map((x) => x.hwmKiB)),
            samples: rss.reduce((a, x) => a + x.samples, 0),
          }
        : undefined,
    foreignCpuPct: foreign.length > 0 ? Math.max(...foreign) : undefined,
    serverCpuUsPerRequest: median(rounds.map((r) => r.serverCpuUsPerRequest ?? Number.NaN)),
    upstreamCalls: calls.every((x) => x !== undefined) ? calls.reduce<number>((a, x) => a + (x ?? 0), 0) : undefined,
    rounds: rounds.length,
  };
}

function describeCell(r: CellResult): string {
  const lat =
    r.stream && r.ttfbMs
      ? `first chunk p50 ${fmtMs(r.ttfbMs.p50)} p99 ${fmtMs(r.ttfbMs.p99)} ms`
      : `p50 ${fmtMs(r.latencyMs.p50)} p99 ${fmtMs(r.latencyMs.p99)} ms`;
  const bad = r.requests - r.ok;
  const parts = [`${fmtInt(r.rps)} req/s`, lat, `RSS ${fmtMiB(r.rss?.peakRssKiB)} MiB`];
  if (r.foreignCpuPct !== undefined) {
    parts.push(`other CPU ${Math.round(r.foreignCpuPct)}%${r.foreignCpuPct > NOISY_FOREIGN_CPU_PCT ? ' (noisy)' : ''}`);
  }
  if (r.upstreamCalls !== undefined && r.ok > 0) parts.push(`upstream calls/answer ${(r.upstreamCalls / r.ok).toFixed(3)}`);
  if (bad > 0) parts.push(`${bad} failed: ${r.firstError ?? '?'}`);
  return parts.join(', ');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const scriptFlag = process.argv.indexOf('--write-wrk-script');
  if (scriptFlag >= 0) {
    // For driving a profiled optimizer by hand (bench/README.md, "Profiling").
    const dir = resolve(process.argv[scriptFlag + 1] ?? '.');
    mkdirSync(dir, { recursive: true });
    process.stdout.write(`${Object.values(writeWrkScripts(dir)).join('\n')}\n`);
    return 0;
  }
  const settings = readSettings();

  const cores = cpus().length;
  const canPin = settings.pin && hasTaskset() && cores >= 2;
  if (settings.pin && !canPin) {
    log(`bench: not pinning (${hasTaskset() ? `${cores} core(s)` : 'taskset not found'}); numbers will be noisier`);
  }
  settings.pin = canPin;
  if (canPin && !pinSelf(settings.loadCpu)) log('bench: could not pin the bench process itself');
  const pinning = canPin
    ? `server under test (optimizer / bare proxy) on CPU ${settings.serverCpu}; upstream, wrk and the bench process on CPU ${settings.loadCpu}`
    : 'none';

  const wrk = wrkVersion();
  if (settings.loadgen === 'wrk' && wrk === undefined) {
    throw new Error(`BENCH_LOADGEN=wrk but wrk is not installed (${WRK_INSTALL_HINT})`);
  }
  const useWrk = settings.loadgen !== 'builtin' && wrk !== undefined;
  if (settings.loadgen === 'auto' && wrk === undefined) {
    log(`bench: wrk not found; using the built-in undici load generator, which costs more CPU per request (install: ${WRK_INSTALL_HINT})`);
  }
  const loadGenerator = useWrk ? (wrk ?? 'wrk') : 'built-in undici generator';

  const loopbackScript = join(DIST, 'src', 'loopback', 'main.js');
  const useStub = settings.upstream === 'stub' || (settings.upstream === 'auto' && !existsSync(loopbackScript));
  if (useStub && settings.upstream === 'auto') {
    log(`bench: ${relative(ROOT, loopbackScript)} not built; using the stand-in bench/stub-upstream.ts`);
  }
  const upstreamScript = useStub ? join(DIST, 'bench', 'stub-upstream.js') : loopbackScript;
  const upstreamKind = useStub ? 'bench/stub-upstream.ts (stand-in)' : 'src/loopback (the project loopback upstream)';

  const cellList = [
    ...settings.concurrency.map((c) => ({ stream: false, c })),
    ...settings.streamConcurrency.map((c) => ({ stream: true, c })),
  ];
  /** The cache-hit target is measured at its own (non-streaming) concurrencies only. */
  const measures = (id: TargetId, stream: boolean, c: number): boolean =>
    id !== 'cache-hit' || (!stream && settings.cacheHitConcurrency.includes(c));
  const perCellS = settings.warmupS + settings.durationS;
  const measurements = cellList.reduce((a, { stream, c }) => a + settings.targets.filter((id) => measures(id, stream, c)).length, 0);
  log(
    `bench: ${measurements} measurements (cells × targets) × ${settings.rounds} round(s) × ${perCellS} s ` +
      `≈ ${Math.ceil((measurements * settings.rounds * perCellS) / 60)} min`,
  );

  const tmp = mkdtempSync(join(tmpdir(), 'eao-bench-'));
  onExit(() => rmSync(tmp, { recursive: true, force: true }));
  const started: Started[] = [];
  try {
    const upPort = await freePort();
    const upArgs = ['--port', String(upPort)];
    if (settings.upstreamLatencyMs > 0) upArgs.push('--latency-ms', String(settings.upstreamLatencyMs));
    if (settings.upstreamChunks > 0) upArgs.push('--chunks', String(settings.upstreamChunks));
    const upstream = await startNode({
      name: 'upstream',
      script: upstreamScript,
      args: upArgs,
      cpu: canPin ? settings.loadCpu : undefined,
      readyEvent: 'upstream.listening',
      port: upPort,
    });
    started.push(upstream);
    const upUrlRaw = upstream.readyLine?.['url'];
    const upUrl = new URL(typeof upUrlRaw === 'string' ? upUrlRaw : `http://127.0.0.1:${upPort}/v1`);
    const upBase = upUrl.pathname.replace(/\/+$/, '');
    log(`bench: upstream pid ${upstream.pid} at ${upUrl.href} (${upstreamKind})`);
    log(`bench: load: ${loadGenerator}; pinning: ${pinning}`);

    const ctx: RunContext = {
      settings,
      useWrk,
      wrkScripts: useWrk ? writeWrkScripts(tmp) : undefined,
      runNonce: randomBytes(4).toString('hex'),
      ourPids: [upstream.pid],
    };

    // Start every target, check it answers, keep the ones that do.
    const results = new Map<TargetId, TargetResult>();
    const targets: Target[] = [];
    for (const id of settings.targets) {
      const unavailable = (note: string): void => {
        log(`bench: ${TARGET_LABELS[id]}: NOT MEASURED: ${note}`);
        results.set(id, { id, label: TARGET_LABELS[id], available: false, note: note.split('\n')[0], pid: undefined, cells: {} });
      };
      let target: Target;
      const body = TARGET_BODIES[id];
      if (id === 'direct') {
        target = { id, origin: upUrl.origin, chatPath: `${upBase}/chat/completions`, body, pid: upstream.pid, proc: undefined };
      } else {
        try {
          const port = await freePort();
          let proc: Started;
          if (id === 'proxy') {
            proc = await startNode({
              name: 'bare proxy',
              script: join(DIST, 'bench', 'baseline-proxy.js'),
              args: ['--port', String(port), '--upstream', upUrl.href, '--connections', String(settings.proxyConnections)],
              cpu: canPin ? settings.serverCpu : undefined,
              readyEvent: 'server.listening',
              port,
            });
          } else {
            if (!existsSync(settings.optimizerScript)) {
              unavailable(`${relative(ROOT, settings.optimizerScript)} is not built (npm run build)`);
              continue;
            }
            proc = await startOptimizerProcess({
              name: TARGET_LABELS[id],
              stem: id,
              script: settings.optimizerScript,
              dir: tmp,
              config: optimizerConfig(upUrl.href, id),
              port,
              cpu: canPin ? settings.serverCpu : undefined,
            });
          }
          started.push(proc);
          target = { id, origin: `http://127.0.0.1:${port}`, chatPath: '/v1/chat/completions', body, pid: proc.pid, proc };
        } catch (err) {
          unavailable(err instanceof Error ? err.message : String(err));
          continue;
        }
      }
      const smoke = await smokeTest(target, ctx.runNonce);
      if (smoke !== undefined) {
        unavailable(smoke);
        await target.proc?.stop();
        continue;
      }
      log(`bench: ${TARGET_LABELS[id]}: pid ${target.pid}, ${target.origin}${target.chatPath}`);
      targets.push(target);
      if (!ctx.ourPids.includes(target.pid)) ctx.ourPids.push(target.pid);
      results.set(id, { id, label: TARGET_LABELS[id], available: true, note: undefined, pid: target.pid, cells: {} });
    }

    // Measure: for each cell, every target in turn (order reversed on odd rounds).
    const rounds = new Map<string, CellResult[]>();
    for (let round = 0; round < settings.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const { stream, c } of cellList) {
        const key = cellKey(stream, c);
        for (const t of order) {
          if (!measures(t.id, stream, c)) continue;
          const r = await runCell(ctx, t, stream, c, `${t.id}-${key}-r${round}`);
          const rk = `${t.id}/${key}`;
          rounds.set(rk, [...(rounds.get(rk) ?? []), r]);
          log(`  ${settings.rounds > 1 ? `[${round + 1}/${settings.rounds}] ` : ''}${key.padEnd(11)} ${t.id.padEnd(9)} ${describeCell(r)}`);
        }
      }
    }
    for (const t of targets) {
      const res = results.get(t.id);
      if (!res) continue;
      for (const { stream, c } of cellList) {
        const key = cellKey(stream, c);
        const rs = rounds.get(`${t.id}/${key}`);
        if (rs && rs.length > 0) res.cells[key] = combine(rs);
      }
    }

    const machine = machineFacts(ROOT, loadGenerator, pinning);
    const report = buildReport(settings, results);
    const stamp = machine.date.replace(/:/g, '').replace(/\.\d+Z$/, 'Z');
    mkdirSync(settings.resultsDir, { recursive: true });
    const jsonPath = join(settings.resultsDir, `${stamp}-passthrough.json`);
    const jsonRel = relative(ROOT, jsonPath);
    writeFileSync(
      jsonPath,
      `${JSON.stringify(
        {
          suite: 'passthrough',
          machine,
          upstream: upstreamKind,
          settings: {
            ...settings,
            optimizerScript: relative(ROOT, settings.optimizerScript),
            resultsDir: relative(ROOT, settings.resultsDir),
          },
          configs: Object.fromEntries(
            settings.targets.filter(isOptimizer).map((id) => [id, optimizerConfig(upUrl.href, id)]),
          ),
          targets: Object.fromEntries(results),
          table: { headers: report.headers, rows: report.rows, footnotes: report.footnotes },
          targetTable: { headers: report.targetHeaders, rows: report.targetRows },
          verdicts: report.verdicts,
        },
        null,
        2,
      )}\n`,
    );

    const out = [
      '',
      `Pass-through benchmark: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.date}`,
      `load: ${loadGenerator}; ${settings.warmupS} s warm-up + ${settings.durationS} s per cell; ${settings.rounds} round(s)`,
      `pinning: ${pinning}`,
      `upstream: ${upstreamKind}`,
      '',
      formatText(report.headers, report.rows),
      '',
      formatText(report.targetHeaders, report.targetRows),
      ...report.footnotes,
      '',
      `raw results: ${jsonRel}`,
      '',
      '----- markdown for bench/RESULTS.md -----',
      markdownBlock(machine, settings, report, upstreamKind, jsonRel, CONFIG_NOTES),
      '----- end -----',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  } finally {
    for (const p of started.reverse()) await p.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllSync();
    process.exitCode = 1;
  },
);
