/**
 * Where a process's main thread spent its time: `/proc/<pid>/schedstat` (the thread-group leader,
 * i.e. Node's event-loop thread) sampled at a fixed cadence: nanoseconds on a CPU, nanoseconds
 * runnable but waiting for a CPU, and the wall clock of the sample. When a benchmark sees its
 * answers stop for a while, the difference between two samples says why: the event loop was busy
 * (on a CPU), starved (waiting for a CPU: other processes on its core), or idle/blocked (neither).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface SchedSample {
  /** Wall clock, ms since the epoch (sub-ms). */
  at: number;
  runNs: number;
  waitNs: number;
}

export interface SchedSampler {
  readonly samples: readonly SchedSample[];
  stop(): void;
}

function read(pid: number): { runNs: number; waitNs: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    if (run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
    return { runNs: run, waitNs: wait };
  } catch {
    return undefined;
  }
}

/** Starts sampling `pid` every `intervalMs`; nothing is sampled where /proc is not readable. */
export function sampleSched(pid: number, intervalMs = 100): SchedSampler {
  const samples: SchedSample[] = [];
  const take = (): void => {
    const v = read(pid);
    if (v) samples.push({ at: performance.timeOrigin + performance.now(), ...v });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    get samples() {
      return samples;
    },
    stop() {
      clearInterval(timer);
      take();
    },
  };
}

/** Run and wait time (ms) of the thread between two wall-clock times, from the samples that enclose them. */
export function schedBetween(samples: readonly SchedSample[], from: number, to: number): { runMs: number; waitMs: number } | undefined {
  let a: SchedSample | undefined;
  let b: SchedSample | undefined;
  for (const s of samples) {
    if (s.at <= from) a = s;
    if (s.at >= to && b === undefined) b = s;
  }
  if (!a || !b) return undefined;
  return { runMs: (b.runNs - a.runNs) / 1e6, waitMs: (b.waitNs - a.waitNs) / 1e6 };
}
