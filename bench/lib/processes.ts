/**
 * Child processes for the benchmark: spawn pinned to a CPU with `taskset`, wait until the child says
 * it listens, keep draining its output, and stop it by PID (and only it).
 *
 * `taskset -c N node ...` sets the affinity and then execs node, so the PID we hold is node's own
 * PID: signals and `/proc/<pid>/status` reach the process under test, not a wrapper.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { request } from 'undici';

/** Lines of output kept per child, to explain a failure to start. */
const TAIL_LINES = 40;

export interface StartOptions {
  /** Short name for messages (`upstream`, `optimizer`). */
  name: string;
  /** Script run with this node binary. */
  script: string;
  args: string[];
  /** CPU list for `taskset -c`; undefined runs unpinned. */
  cpu?: string | undefined;
  /** The `event` field of the JSON stdout line that means "listening". */
  readyEvent: string;
  /** Port we told the child to use; with `healthPath` a 200 there also counts as ready. */
  port: number;
  /** e.g. `/health`: polled because a quiet log level may hide the listening line. */
  healthPath?: string | undefined;
  /** Give up after this long (ms). */
  readyTimeoutMs?: number | undefined;
  /** Options for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[] | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

export interface Started {
  name: string;
  pid: number;
  port: number;
  /** The parsed listening line, if one was seen. */
  readyLine: Record<string, unknown> | undefined;
  /** Last lines of stdout and stderr (for diagnostics). */
  tail(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Map<number, ChildProcess>();
const cleanups: (() => void)[] = [];
let hooksInstalled = false;

/** Registers a child started elsewhere (wrk) so that an interrupted run kills it too. */
export function track(child: ChildProcess): void {
  installHooks();
  const pid = child.pid;
  if (pid === undefined) return;
  live.set(pid, child);
  child.once('exit', () => live.delete(pid));
}

/** Runs `fn` (synchronous) when the process exits, however it exits: temp dirs and the like. */
export function onExit(fn: () => void): void {
  installHooks();
  cleanups.push(fn);
}

let tasksetChecked: boolean | undefined;
/** True when `taskset` runs here (util-linux). */
export function hasTaskset(): boolean {
  if (tasksetChecked === undefined) {
    const r = spawnSync('taskset', ['--version'], { stdio: 'ignore' });
    tasksetChecked = r.error === undefined && r.status === 0;
  }
  return tasksetChecked;
}

/** Pins every thread of this process to `cpu` (so the built-in load generator stays off the optimizer's core). */
export function pinSelf(cpu: string): boolean {
  if (!hasTaskset()) return false;
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)], { stdio: 'ignore' });
  return r.status === 0;
}

/** A port that was free a moment ago on 127.0.0.1 (the child binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** Kills every child still alive and runs the exit cleanups, synchronously (for `exit` and signal handlers). */
export function killAllSync(): void {
  for (const [pid, child] of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // best effort on the way out
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children ${[...live.keys()].join(', ') || '(none)'}\n`);
      killAllSync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

async function healthOk(port: number, path: string): Promise<boolean> {
  try {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      method: 'GET',
      headersTimeout: 1000,
      bodyTimeout: 1000,
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** Spawns a node script (pinned when asked) and resolves once it is ready to serve. */
export function startNode(opts: StartOptions): Promise<Started> {
  installHooks();
  const pinned = opts.cpu !== undefined && hasTaskset();
  const cmd = pinned ? 'taskset' : process.execPath;
  const nodeArgs = opts.nodeArgs ?? [];
  const args = pinned
    ? ['-c', String(opts.cpu), process.execPath, ...nodeArgs, opts.script, ...opts.args]
    : [...nodeArgs, opts.script, ...opts.args];
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  const pid = child.pid;
  if (pid === undefined) {
    return Promise.reject(new Error(`${opts.name}: spawn ${cmd} failed`));
  }
  track(child);

  const tailBuf: string[] = [];
  const remember = (line: string): void => {
    tailBuf.push(line);
    if (tailBuf.length > TAIL_LINES) tailBuf.shift();
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone in the meantime
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };

  return new Promise<Started>((resolve, reject) => {
    let done = false;
    let readyLine: Record<string, unknown> | undefined;
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timeout);
      clearInterval(poll);
      if (err) {
        void stop(1000).then(() => reject(err));
        return;
      }
      resolve({ name: opts.name, pid, port: opts.port, readyLine, tail: () => [...tailBuf], stop });
    };

    // Keep reading both pipes for the child's whole life: a full pipe would block its logger.
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (data: string) => {
      partial += data;
      let nl = partial.indexOf('\n');
      while (nl >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        remember(line);
        if (!done && line.includes(opts.readyEvent)) {
          try {
            const parsed = JSON.parse(line) as Record<string, unknown>;
            if (parsed['event'] === opts.readyEvent) {
              readyLine = parsed;
              finish(undefined);
            }
          } catch {
            // not JSON: ignore
          }
        }
        nl = partial.indexOf('\n');
      }
      if (partial.length > 64 * 1024) partial = partial.slice(-1024);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (data: string) => {
      for (const line of data.split('\n')) if (line.length > 0) remember(`[stderr] ${line}`);
    });
    child.once('error', (err) => finish(new Error(`${opts.name}: ${err.message}`)));
    child.once('exit', (code, signal) => {
      finish(
        new Error(
          `${opts.name} exited before it was ready (code ${code}, signal ${signal}). Last output:\n  ` +
            tailBuf.join('\n  '),
        ),
      );
    });
    const timeoutMs = opts.readyTimeoutMs ?? 20_000;
    const timeout = setTimeout(() => {
      finish(
        new Error(
          `${opts.name} not ready after ${timeoutMs} ms (waiting for "${opts.readyEvent}"` +
            `${opts.healthPath ? ` or ${opts.healthPath} 200` : ''}). Last output:\n  ` +
            tailBuf.join('\n  '),
        ),
      );
    }, timeoutMs);
    let polling = false;
    const poll = setInterval(() => {
      if (opts.healthPath === undefined || polling || done) return;
      polling = true;
      void healthOk(opts.port, opts.healthPath).then((ok) => {
        polling = false;
        if (ok) finish(undefined);
      });
    }, 100);
  });
}

/**
 * Resident memory of a process from `/proc/<pid>/status`, in KiB; undefined when unreadable.
 * `fileKiB` is RssFile: file-backed pages (code, and mapped files such as the cache's LMDB map).
 */
export function readRss(pid: number): { rssKiB: number; hwmKiB: number; fileKiB: number | undefined } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    const file = /^RssFile:\s+(\d+)\s+kB/m.exec(status);
    if (!rss?.[1] || !hwm?.[1]) return undefined;
    return { rssKiB: Number(rss[1]), hwmKiB: Number(hwm[1]), fileKiB: file?.[1] ? Number(file[1]) : undefined };
  } catch {
    return undefined;
  }
}

/**
 * Samples a process's RSS every `intervalMs` until `stop()` returns the peak seen (and its RssFile
 * part) and the final VmHWM.
 */
export function sampleRss(
  pid: number,
  intervalMs = 100,
): { stop(): { peakRssKiB: number; peakFileKiB: number | undefined; hwmKiB: number; samples: number } } {
  let peak = 0;
  let peakFile: number | undefined;
  let hwm = 0;
  let samples = 0;
  const take = (): void => {
    const r = readRss(pid);
    if (!r) return;
    samples++;
    if (r.rssKiB > peak) {
      peak = r.rssKiB;
      peakFile = r.fileKiB;
    }
    hwm = r.hwmKiB;
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakRssKiB: peak, peakFileKiB: peakFile, hwmKiB: hwm, samples };
    },
  };
}

/**
 * Starts the optimizer as a child process: writes `config` to `<dir>/<stem>.config.json`,
 * gives it `<dir>/<stem>-data` as its store, listens on `port`, and is ready when
 * `/health` answers (the config's log level may hide the listening line).
 */
export function startOptimizerProcess(opts: {
  name: string;
  /** File-name stem of the config and store (default: the name). */
  stem?: string;
  script: string;
  dir: string;
  config: unknown;
  port: number;
  cpu: string | undefined;
  /** Extra options for node itself (bench/ab.ts: AB_FLAGS_A / AB_FLAGS_B). */
  nodeArgs?: string[] | undefined;
}): Promise<Started> {
  const stem = opts.stem ?? opts.name;
  const dataDir = join(opts.dir, `${stem}-data`);
  mkdirSync(dataDir, { recursive: true });
  const configPath = join(opts.dir, `${stem}.config.json`);
  writeFileSync(configPath, `${JSON.stringify(opts.config, null, 2)}\n`);
  return startNode({
    name: opts.name,
    script: opts.script,
    args: ['--config', configPath, '--port', String(opts.port), '--data-dir', dataDir],
    cpu: opts.cpu,
    readyEvent: 'server.listening',
    healthPath: '/health',
    port: opts.port,
    readyTimeoutMs: 30_000,
    // BENCH_CPU_PROF=DIR: the optimizer writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
    nodeArgs: [...(opts.nodeArgs ?? []), ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
  });
}
