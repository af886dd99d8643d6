/**
 * Where keying a request in the worker pool starts to pay (POOL_HASH_THRESHOLD_BYTES in
 * src/keys/key-service.ts).
 *
 *   npm run build && node dist/bench/hash-crossover.bench.js
 *
 * For realistic chat bodies (a big system prompt, tool definitions, a few messages, an assistant
 * tool call) of 1–256 KB it measures:
 * - inline: what the main thread pays to key a body it has already parsed: requestKey
 *   (canonicalJson + sha256) and estimateTokens, as computeRequestKeyInline does;
 * - pool: `WorkerPool.hashRequest(text)` (the worker parses, canonicalises, hashes and estimates):
 *   the main thread's CPU time per call (its own on-CPU time from /proc/thread-self/schedstat, so
 *   the worker's time is not counted), one call at a time and with 4 in flight, and the latency of
 *   one call at a time.
 * The JSON.parse column is what the main thread pays in both cases (it parses to validate and
 * route), shown for scale.
 *
 * Cells are measured in rounds (BENCH_ROUNDS, default 3, order reversed every other round) and
 * the table shows medians; `~` marks a cell during which other processes used more than 10% of a
 * core. Settings: BENCH_ROUNDS, BENCH_CELL_MS (time per cell, default 400).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeRequestKeyInline } from '../src/keys/key-service.js';
import { requestKey, type RequestKeyInput } from '../src/keys/request-key.js';
import { createWorkerPool, type WorkerPool } from '../src/workers/pool.js';
import { watchForeignCpu } from './lib/cpu.js';
import { formatMarkdown, formatText } from './lib/table.js';
import { seededRandom as rng } from '../src/resilience/random.js';

const SIZES_KB = [1, 4, 16, 32, 64, 128, 256] as const;
const BODIES_PER_SIZE = 8;
const PIPELINE_DEPTH = 4;
const NOISY_FOREIGN_CPU_PCT = 10;
const MODEL = 'openrouter/anthropic/claude-sonnet-4';

function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? dflt : Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return v;
}

const ROUNDS = envInt('BENCH_ROUNDS', 3);
const CELL_MS = envInt('BENCH_CELL_MS', 400);

// ---------------------------------------------------------------------------------------------
// Bodies

const WORDS = (
  'the agent must read each file before editing it and explain every change in plain words ' +
  'when a test fails run it again with verbose output then fix the cause not the symptom ' +
  'repository workspace function return value config schema request response stream token ' +
  'never commit secrets always prefer small diffs and keep the public interface stable'
).split(' ');


/** Prose with a fenced code block every few paragraphs, as agents' system prompts are. */
function promptText(chars: number, random: () => number): string {
  const parts: string[] = [];
  let length = 0;
  let paragraph = 0;
  while (length < chars) {
    let text: string;
    if (paragraph % 5 === 4) {
      text = '```ts\nexport function step' + paragraph + '(input: string): string {\n  return input.trim();\n}\n```\n\n';
    } else {
      const words: string[] = [];
      const count = 40 + Math.floor(random() * 40);
      for (let i = 0; i < count; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
      text = `## Rule ${paragraph}\n${words.join(' ')}.\n\n`;
    }
    parts.push(text);
    length += text.length;
    paragraph++;
  }
  return parts.join('').slice(0, Math.max(0, chars));
}

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'read_file',
      description: 'Read a file of the workspace and return its text.',
      parameters: {
        type: 'object',
        properties: { path: { type: 'string', description: 'Relative path' }, offset: { type: 'integer' }, limit: { type: 'integer' } },
        required: ['path'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'run_command',
      description: 'Run a shell command in the workspace and return its output.',
      parameters: {
        type: 'object',
        properties: { command: { type: 'string' }, timeout_ms: { type: 'integer', minimum: 1 } },
        required: ['command'],
      },
    },
  },
];

/** A streaming agent request (OpenClaw-like) whose JSON text is `targetBytes` long, give or take a few bytes. */
function chatBody(targetBytes: number, seed: number): Record<string, unknown> {
  const random = rng(seed);
  const build = (systemChars: number): Record<string, unknown> => ({
    model: 'smart',
    stream: true,
    stream_options: { include_usage: true },
    max_completion_tokens: 4096,
    temperature: 0,
    tool_choice: 'auto',
    tools: TOOLS,
    messages: [
      { role: 'system', content: promptText(systemChars, rng(seed)) },
      { role: 'user', content: [{ type: 'text', text: `Session ${seed}: fix the failing test in src/keys.` }] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: `call_${seed}`, type: 'function', function: { name: 'run_command', arguments: '{"command":"npm test"}' } }],
      },
      { role: 'tool', tool_call_id: `call_${seed}`, content: `1 failed, 41 passed (${Math.floor(random() * 1000)} ms)` },
      { role: 'user', content: 'Go on.' },
    ],
  });
  const overhead = JSON.stringify(build(0)).length;
  return build(Math.max(0, targetBytes - overhead));
}

// ---------------------------------------------------------------------------------------------
// Measurement

/** The main thread's own on-CPU time in ns (Linux), so a worker's time is not counted. */
function mainThreadCpuNs(): number {
  const text = readFileSync('/proc/thread-self/schedstat', 'utf8');
  return Number(text.slice(0, text.indexOf(' ')));
}

interface Sample {
  /** Mean main-thread µs per call. */
  cpuUs: number;
  /** Latency per call, µs (sequential pool calls only). */
  p50Us?: number;
  p99Us?: number;
  foreignPct: number | undefined;
}

interface Cell {
  text: string[];
  input: RequestKeyInput[];
}

function timeSync(fn: (i: number) => void): Sample {
  for (let i = 0; i < 200; i++) fn(i); // warm-up
  const watch = watchForeignCpu([]);
  const cpu0 = mainThreadCpuNs();
  const end = performance.now() + CELL_MS;
  let calls = 0;
  while (performance.now() < end) {
    for (let j = 0; j < 16; j++) fn(calls++);
  }
  const cpuUs = (mainThreadCpuNs() - cpu0) / 1000 / calls;
  return { cpuUs, foreignPct: watch.stop() };
}

async function timePoolSequential(pool: WorkerPool, cell: Cell): Promise<Sample> {
  const call = (i: number) => {
    const k = i % BODIES_PER_SIZE;
    const input = cell.input[k]!;
    return pool.hashRequest(cell.text[k]!, { endpoint: input.endpoint, model: input.model, tenant: input.tenant });
  };
  for (let i = 0; i < 100; i++) await call(i);
  const latencies: number[] = [];
  const watch = watchForeignCpu([]);
  const cpu0 = mainThreadCpuNs();
  const end = performance.now() + CELL_MS;
  let calls = 0;
  while (performance.now() < end) {
    const t0 = performance.now();
    await call(calls++);
    latencies.push(performance.now() - t0);
  }
  const cpuUs = (mainThreadCpuNs() - cpu0) / 1000 / calls;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN) * 1000;
  return { cpuUs, p50Us: pct(0.5), p99Us: pct(0.99), foreignPct: watch.stop() };
}

async function timePoolPipelined(pool: WorkerPool, cell: Cell): Promise<Sample> {
  const call = (i: number) => {
    const k = i % BODIES_PER_SIZE;
    const input = cell.input[k]!;
    return pool.hashRequest(cell.text[k]!, { endpoint: input.endpoint, model: input.model, tenant: input.tenant });
  };
  const watch = watchForeignCpu([]);
  const cpu0 = mainThreadCpuNs();
  const end = performance.now() + CELL_MS;
  let calls = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) await call(calls++);
  };
  await Promise.all(Array.from({ length: PIPELINE_DEPTH }, lane));
  const cpuUs = (mainThreadCpuNs() - cpu0) / 1000 / calls;
  return { cpuUs, foreignPct: watch.stop() };
}

function median(values: readonly number[]): number {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

type Column = 'parse' | 'key' | 'inline' | 'poolSeq' | 'poolPipe';
const COLUMNS: readonly Column[] = ['parse', 'key', 'inline', 'poolSeq', 'poolPipe'];

interface Row {
  kb: number;
  bytes: number;
  samples: Record<Column, Sample[]>;
}

async function main(): Promise<void> {
  const storePath = mkdtempSync(join(tmpdir(), 'hash-crossover-'));
  // Hashing never opens the store; the path is only required by the pool's options.
  const pool = createWorkerPool({ storePath, mapSizeBytes: 64 * 2 ** 20 });
  try {
    const rows: Row[] = [];
    const cells = new Map<number, Cell>();
    for (const kb of SIZES_KB) {
      const text: string[] = [];
      const input: RequestKeyInput[] = [];
      for (let s = 0; s < BODIES_PER_SIZE; s++) {
        const body = chatBody(kb * 1024, kb * 1000 + s);
        text.push(JSON.stringify(body));
        input.push({ endpoint: 'chat.completions', body, model: MODEL, tenant: 'acme' });
      }
      // Both paths must agree, or the comparison is meaningless (and dist/ is stale).
      const viaPool = await pool.hashRequest(text[0]!, { endpoint: 'chat.completions', model: MODEL, tenant: 'acme' });
      if (viaPool.key !== requestKey(input[0]!)) throw new Error('The pool and the inline key differ: rebuild (npm run build).');
      cells.set(kb, { text, input });
      rows.push({
        kb,
        bytes: Math.round(text.reduce((n, t) => n + Buffer.byteLength(t), 0) / text.length),
        samples: { parse: [], key: [], inline: [], poolSeq: [], poolPipe: [] },
      });
    }

    let sink = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? rows : [...rows].reverse();
      for (const row of order) {
        const cell = cells.get(row.kb)!;
        process.stderr.write(`round ${round + 1}/${ROUNDS}: ${row.kb} KB\n`);
        row.samples.parse.push(timeSync((i) => (sink += (JSON.parse(cell.text[i % BODIES_PER_SIZE]!) as object) ? 1 : 0)));
        row.samples.key.push(timeSync((i) => (sink += requestKey(cell.input[i % BODIES_PER_SIZE]!).length)));
        row.samples.inline.push(timeSync((i) => (sink += computeRequestKeyInline(cell.input[i % BODIES_PER_SIZE]!).tokens)));
        row.samples.poolSeq.push(await timePoolSequential(pool, cell));
        row.samples.poolPipe.push(await timePoolPipelined(pool, cell));
      }
    }
    if (sink === 0) process.stderr.write('\n');

    const us = (v: number): string => (Number.isFinite(v) ? (v < 100 ? v.toFixed(1) : v.toFixed(0)) : 'n/a');
    const cellText = (samples: readonly Sample[], pick: (s: Sample) => number | undefined): string => {
      const noisy = samples.some((s) => (s.foreignPct ?? 0) > NOISY_FOREIGN_CPU_PCT);
      return us(median(samples.map((s) => pick(s) ?? NaN))) + (noisy ? '~' : '');
    };
    const medianOf = (row: Row, column: Column): number => median(row.samples[column].map((s) => s.cpuUs));

    const headers = [
      'body',
      'JSON.parse µs',
      'inline key µs',
      'inline key+tokens µs',
      'pool main-thread µs (1 in flight)',
      `pool main-thread µs (${PIPELINE_DEPTH} in flight)`,
      'pool latency p50 µs',
      'pool latency p99 µs',
      'cheaper on the main thread',
    ];
    const table = rows.map((row) => {
      const inline = medianOf(row, 'inline');
      const pool1 = medianOf(row, 'poolSeq');
      return [
        `${row.kb} KB (${row.bytes} B)`,
        cellText(row.samples.parse, (s) => s.cpuUs),
        cellText(row.samples.key, (s) => s.cpuUs),
        cellText(row.samples.inline, (s) => s.cpuUs),
        cellText(row.samples.poolSeq, (s) => s.cpuUs),
        cellText(row.samples.poolPipe, (s) => s.cpuUs),
        cellText(row.samples.poolSeq, (s) => s.p50Us),
        cellText(row.samples.poolSeq, (s) => s.p99Us),
        pool1 < inline ? 'pool' : 'inline',
      ];
    });

    // Least-squares lines cost = a + b·KB for inline and for the pool (1 in flight); they cross at (a₂ − a₁)/(b₁ − b₂).
    const fit = (column: Column): { a: number; b: number } => {
      const xs = rows.map((r) => r.bytes / 1024);
      const ys = rows.map((r) => medianOf(r, column));
      const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
      const my = ys.reduce((s, y) => s + y, 0) / ys.length;
      let sxy = 0;
      let sxx = 0;
      xs.forEach((x, i) => {
        sxy += (x - mx) * (ys[i]! - my);
        sxx += (x - mx) ** 2;
      });
      const b = sxy / sxx;
      return { a: my - b * mx, b };
    };
    const inlineFit = fit('inline');
    const seqFit = fit('poolSeq');
    const pipeFit = fit('poolPipe');
    const cross = (pool: { a: number; b: number }): number => (pool.a - inlineFit.a) / (inlineFit.b - pool.b);
    const firstPoolRow = rows.find((r) => medianOf(r, 'poolSeq') < medianOf(r, 'inline'));

    const summary = [
      `inline key+tokens ≈ ${inlineFit.a.toFixed(1)} µs + ${inlineFit.b.toFixed(2)} µs/KB; ` +
        `pool (1 in flight) ≈ ${seqFit.a.toFixed(1)} µs + ${seqFit.b.toFixed(2)} µs/KB; ` +
        `pool (${PIPELINE_DEPTH} in flight) ≈ ${pipeFit.a.toFixed(1)} µs + ${pipeFit.b.toFixed(2)} µs/KB of main-thread time.`,
      `Crossover (main-thread CPU): ≈ ${cross(seqFit).toFixed(0)} KB with 1 call in flight, ≈ ${cross(pipeFit).toFixed(0)} KB with ${PIPELINE_DEPTH}; ` +
        `first measured size where the pool is cheaper: ${firstPoolRow ? `${firstPoolRow.kb} KB` : 'none'}.`,
      `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${ROUNDS} rounds × ${CELL_MS} ms per cell, medians; ` +
        `~ = other processes used > ${NOISY_FOREIGN_CPU_PCT}% of a core during a sample.`,
    ];

    process.stdout.write(`\n${formatText(headers, table)}\n\n${summary.join('\n')}\n`);
    process.stdout.write(`\nMarkdown:\n\n${formatMarkdown(headers, table)}\n\n${summary.map((s) => `- ${s}`).join('\n')}\n`);
  } finally {
    await pool.close();
    rmSync(storePath, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
