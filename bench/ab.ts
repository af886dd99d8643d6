/**
 * `npm run bench:ab -- <dist A> <dist B>`: CPU per request of two builds of the optimizer, measured
 * in turns in one run (paired rounds A, B, B, A, …), for "run the benchmark before and after every
 * change to the request path".
 *
 * Why a second benchmark: on a shared VM the pass-through suite's req/s moves by 2× with the
 * neighbours, and a change worth 5% disappears in it. Here both builds run side by side on CPU 0
 * (the upstream and wrk on CPU 1), each round measures both within seconds of each other, and the
 * number compared is the server's own CPU time (user + system, all threads, /proc) per answered
 * request. The report is the median of the per-round ratios B/A, with every round listed: a ratio
 * whose rounds straddle 1 is noise. An A/A run (the same build twice) shows the noise floor.
 *
 * A build is a directory laid out like `dist/` (`npm run build`, then copy it aside: see
 * bench/README.md). Both builds read the same node_modules, so the copies must sit inside the
 * project directory (e.g. `.ab/`, ignored by git).
 *
 * Settings (env): AB_TARGET `optimizer` (pass-through, default), `features` (cache+dedupe+limits
 * on, every request a miss) or `cache-hit`; AB_ROUNDS (10); AB_SECONDS per measurement (2);
 * AB_CONCURRENCY (50); AB_FLAGS_A / AB_FLAGS_B: node options for one side (e.g.
 * `--max-semi-space-size=8`); AB_CONFIG_A / AB_CONFIG_B: JSON merged into one side's optimizer config
 * (e.g. `{"dedupe":{"enabled":false}}`), to weigh one feature with the same build on both sides;
 * AB_STREAM=1: streaming requests through the built-in generator (bench/lib/load.ts) instead of wrk,
 * and each side's median time to the first chunk is reported too. AB_WS=1: the requests go over
 * WebSocket sessions instead (bench/lib/ws-load.ts: AB_WS_SESSIONS sessions, default 10, sharing the
 * AB_CONCURRENCY requests in flight; JSON frames, non-streaming).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { processTicks, threadTicks, TICKS_PER_S } from './lib/cpu.js';
import { envNum } from './lib/env.js';
import { optimizerConfig } from './lib/optimizer-config.js';
import { mergeDeep } from '../src/config/load.js';
import { freePort, killAllSync, pinSelf, readRss, startNode, startOptimizerProcess, type Started } from './lib/processes.js';
import { TARGET_BODIES, type TargetId } from './lib/types.js';
import { runWrk, writeWrkScripts } from './lib/wrk.js';
import { runLoad } from './lib/load.js';
import { runWsLoad } from './lib/ws-load.js';

interface Side {
  name: 'A' | 'B';
  dist: string;
  proc: Started;
  rounds: { usPerRequest: number; rps: number; firstChunkMs: number | undefined; threads: Map<string, number> }[];
  peakRssKiB: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const [distA, distB] = process.argv.slice(2).map((d) => resolve(d));
  if (distA === undefined || distB === undefined) {
    process.stderr.write('usage: node dist/bench/ab.js <dist A> <dist B>   (AB_TARGET, AB_ROUNDS, AB_SECONDS, AB_CONCURRENCY, AB_FLAGS_A, AB_FLAGS_B, AB_CONFIG_A, AB_CONFIG_B, AB_STREAM, AB_WS, AB_WS_SESSIONS)\n');
    process.exit(2);
  }
  const target = (process.env['AB_TARGET'] ?? 'optimizer') as TargetId;
  if (target !== 'optimizer' && target !== 'features' && target !== 'cache-hit') throw new Error(`AB_TARGET: optimizer, features or cache-hit, not ${target}`);
  const rounds = Math.floor(envNum('AB_ROUNDS', 10, 1));
  const seconds = envNum('AB_SECONDS', 2, 1);
  const concurrency = Math.floor(envNum('AB_CONCURRENCY', 50, 1));
  const stream = process.env['AB_STREAM'] === '1';
  const ws = process.env['AB_WS'] === '1';
  const wsSessions = Math.floor(envNum('AB_WS_SESSIONS', 10, 1));
  if (ws && stream) throw new Error('AB_WS=1 sends non-streaming requests; leave AB_STREAM unset');
  pinSelf('1');
  const dir = mkdtempSync(join(tmpdir(), 'optimizer-ab-'));
  process.once('exit', () => {
    killAllSync();
    rmSync(dir, { recursive: true, force: true });
  });

  const upstreamPort = await freePort();
  const upstream = await startNode({
    name: 'upstream',
    script: join(distA, 'src/loopback/main.js'),
    args: ['--port', String(upstreamPort)],
    cpu: '1',
    readyEvent: 'upstream.listening',
    port: upstreamPort,
  });
  const upstreamUrl = `http://127.0.0.1:${upstream.port}/v1`;
  const sides: Side[] = [];
  for (const [name, dist] of [['A', distA], ['B', distB]] as const) {
    const flags = process.env[`AB_FLAGS_${name}`];
    const patch = process.env[`AB_CONFIG_${name}`];
    const config = optimizerConfig(upstreamUrl, target);
    const proc = await startOptimizerProcess({
      name: `optimizer ${name}`,
      stem: name,
      script: join(dist, 'src/main.js'),
      dir,
      config: patch ? mergeDeep(config, JSON.parse(patch)) : config,
      port: await freePort(),
      cpu: '0',
      nodeArgs: flags ? flags.split(' ').filter(Boolean) : undefined,
    });
    sides.push({ name, dist, proc, rounds: [], peakRssKiB: 0 });
  }
  const scripts = writeWrkScripts(dir);
  const nonce = `ab-${Date.now().toString(36)}`;
  const measure = async (side: Side, tag: string, durationS: number) => {
    const url = `http://127.0.0.1:${side.proc.port}/v1/chat/completions`;
    const before = processTicks(side.proc.pid, false);
    const threadsBefore = threadTicks(side.proc.pid);
    const sampler = setInterval(() => {
      const rss = readRss(side.proc.pid);
      if (rss) side.peakRssKiB = Math.max(side.peakRssKiB, rss.rssKiB);
    }, 100);
    const runNonce = `${nonce}-${side.name}-${tag}`;
    const result = ws
      ? await runWsLoad({ url: `ws://127.0.0.1:${side.proc.port}/v1/ws`, sessions: wsSessions, concurrency, durationMs: durationS * 1000, maxRequests: 2_000_000, nonce: runNonce, bodyMode: TARGET_BODIES[target] })
      : stream
      ? await runLoad({ origin: `http://127.0.0.1:${side.proc.port}`, path: '/v1/chat/completions', concurrency, durationMs: durationS * 1000, maxRequests: 2_000_000, stream: true, nonce: runNonce, bodyMode: TARGET_BODIES[target] })
      : await runWrk({ url, concurrency, durationS, script: scripts[TARGET_BODIES[target]], nonce: runNonce, cpu: '1' });
    clearInterval(sampler);
    const after = processTicks(side.proc.pid, false);
    const threads = new Map<string, number>();
    for (const [name, ticks] of threadTicks(side.proc.pid)) {
      threads.set(name, ((ticks - (threadsBefore.get(name) ?? 0)) / TICKS_PER_S / Math.max(1, result.ok)) * 1e6);
    }
    if (before === undefined || after === undefined || result.ok === 0) throw new Error(`optimizer ${side.name}: nothing measured (${result.firstError ?? 'no answers'})`);
    return { usPerRequest: ((after - before) / TICKS_PER_S / result.ok) * 1e6, rps: result.rps, firstChunkMs: result.ttfbMs?.p50, threads };
  };

  const kind = ws ? ` (WebSocket, ${wsSessions} sessions)` : stream ? ' (streams)' : '';
  process.stderr.write(`ab: ${target}${kind}, c=${concurrency}, ${rounds} rounds of ${seconds} s; A ${distA}, B ${distB}\n`);
  for (const side of sides) await measure(side, 'warmup', 2);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) side.rounds.push(await measure(side, `r${round}`, seconds));
    process.stderr.write(`ab: round ${round + 1}/${rounds}\n`);
  }
  for (const side of sides) await side.proc.stop();
  await upstream.stop();

  const [a, b] = sides as [Side, Side];
  const describe = (name: 'A' | 'B') =>
    [process.env[`AB_FLAGS_${name}`], process.env[`AB_CONFIG_${name}`]].filter(Boolean).map((x) => ` (${x})`).join('');
  const ratios = a.rounds.map((r, i) => b.rounds[i]!.usPerRequest / r.usPerRequest);
  const row = (s: Side) =>
    `| ${s.name} | ${Math.round(median(s.rounds.map((r) => r.usPerRequest)))} | ${Math.round(Math.min(...s.rounds.map((r) => r.usPerRequest)))} | ${Math.round(median(s.rounds.map((r) => r.rps))).toLocaleString('en-US')} | ${(s.peakRssKiB / 1024).toFixed(0)} | ${s.rounds.map((r) => Math.round(r.usPerRequest)).join(' ')} |`;
  const lines = [
    `A/B, ${target}${ws ? ` over WebSocket (${wsSessions} sessions)` : stream ? ' streaming' : ''}, c=${concurrency}, ${rounds} paired rounds of ${seconds} s (server CPU µs per answered request)`,
    `A: ${a.dist}${describe('A')}`,
    `B: ${b.dist}${describe('B')}`,
    '',
    '| build | median µs/request | min µs/request | median req/s | peak RSS MiB | every round |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    row(a),
    row(b),
    '',
    `B/A, median of the paired rounds: ${median(ratios).toFixed(3)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')})`,
  ];
  // Where the CPU went, per thread (median µs per request over the rounds): the event loop's thread, V8's
  // helpers (GC, compiler), libuv's pool, and threads native modules start (LMDB's writer, Piscina's workers).
  const threadNames = [...new Set(sides.flatMap((s) => s.rounds.flatMap((r) => [...r.threads.keys()])))].sort((x, y) => (x === 'main' ? -1 : y === 'main' ? 1 : x.localeCompare(y)));
  const perThread = (s: Side, name: string) => median(s.rounds.map((r) => r.threads.get(name) ?? 0));
  const shown = threadNames.filter((name) => sides.some((s) => perThread(s, name) >= 0.5));
  lines.push('', `| thread (median µs/request) | ${shown.join(' | ')} |`, `| --- |${' ---: |'.repeat(shown.length)}`);
  for (const s of sides) lines.push(`| ${s.name} | ${shown.map((name) => perThread(s, name).toFixed(1)).join(' | ')} |`);
  if (stream) {
    const firstChunk = (side: Side) => side.rounds.map((r) => r.firstChunkMs ?? Number.NaN);
    const chunkRatios = firstChunk(a).map((ms, i) => firstChunk(b)[i]! / ms);
    lines.push(
      `first chunk p50 ms, median of the rounds: A ${median(firstChunk(a)).toFixed(3)}, B ${median(firstChunk(b)).toFixed(3)}; B/A ${median(chunkRatios).toFixed(3)} (rounds: ${chunkRatios.map((r) => r.toFixed(2)).join(' ')})`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`ab: ${error instanceof Error ? error.message : String(error)}\n`);
  killAllSync();
  process.exit(1);
});
