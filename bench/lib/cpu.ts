/**
 * How much CPU *other* processes used while a cell was measured: the machine's user+system time
 * from `/proc/stat`, minus the time of the processes taking part (the bench process and its reaped
 * children such as wrk, the upstream, the server under test). On a shared machine a high value
 * means the cell's numbers are noise, not the optimizer.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ; /proc times are in these ticks. */
export const TICKS_PER_S = 100;

function machineBusyTicks(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal ...
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // irq/softirq left out: loopback networking is accounted there, not to the processes.
    return (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0);
  } catch {
    return undefined;
  }
}

/** utime+stime (and, with `children`, cutime+cstime of reaped children) of a process, in ticks. */
export function processTicks(pid: number | 'self', children: boolean): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields after the closing parenthesis are fixed.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // f[0] is field 3 (state); utime is field 14 → f[11], stime f[12], cutime f[13], cstime f[14].
    const own = (f[11] ?? 0) + (f[12] ?? 0);
    return children ? own + (f[13] ?? 0) + (f[14] ?? 0) : own;
  } catch {
    return undefined;
  }
}

/**
 * utime+stime per thread of a process, in ticks: `main` (the event loop's thread), and every other
 * thread under its name, or, where it kept the process's name `node`, as `+N`, its id's distance from
 * the process id. Threads that exited meanwhile are not counted.
 */
export function threadTicks(pid: number): Map<string, number> {
  const groups = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return groups;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Node's own threads keep the process's name: those are told apart by their id's distance from
      // the process's (the order they were started in; LMDB's writer starts with the first write).
      const name = Number(tid) === pid ? 'main' : comm === 'node' ? `+${Number(tid) - pid}` : comm;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      groups.set(name, (groups.get(name) ?? 0) + (f[11] ?? 0) + (f[12] ?? 0));
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return groups;
}

interface Snapshot {
  at: number;
  busy: number | undefined;
  self: number | undefined;
  pids: Map<number, number | undefined>;
}

function snapshot(pids: readonly number[]): Snapshot {
  return {
    at: performance.now(),
    busy: machineBusyTicks(),
    self: processTicks('self', true),
    pids: new Map(pids.map((p) => [p, processTicks(p, false)])),
  };
}

/**
 * Starts watching; `stop()` returns the CPU other processes used meanwhile, in percent of one core
 * (undefined where /proc is not readable). `pids` are our live children (upstream, server).
 */
export function watchForeignCpu(pids: readonly number[]): { stop(): number | undefined } {
  const unique = [...new Set(pids)];
  const a = snapshot(unique);
  return {
    stop() {
      const b = snapshot(unique);
      if (a.busy === undefined || b.busy === undefined || a.self === undefined || b.self === undefined) return undefined;
      let ours = b.self - a.self;
      for (const pid of unique) {
        const before = a.pids.get(pid);
        const after = b.pids.get(pid);
        if (before !== undefined && after !== undefined) ours += after - before;
      }
      const seconds = (b.at - a.at) / 1000;
      if (seconds <= 0) return undefined;
      const foreign = Math.max(0, b.busy - a.busy - ours);
      return (foreign / TICKS_PER_S / seconds) * 100;
    },
  };
}
