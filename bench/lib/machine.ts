/** Facts about the machine a benchmark ran on, recorded next to its numbers. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';

export interface MachineFacts {
  date: string;
  cpuModel: string;
  /** Logical CPUs this process may use. */
  cores: number;
  memoryGiB: number;
  kernel: string;
  hostname: string;
  node: string;
  undici: string | undefined;
  /** `git rev-parse --short HEAD`, plus `-dirty` when the tree has changes; undefined without commits. */
  gitCommit: string | undefined;
  loadGenerator: string;
  pinning: string;
}

function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^model name\s*:\s*(.+)$/m.exec(info);
    if (m?.[1]) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

function gitCommit(cwd: string): string | undefined {
  try {
    const opts = { cwd, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] };
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], opts).trim().length > 0;
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return undefined;
  }
}

function packageVersion(root: string, name: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version;
  } catch {
    return undefined;
  }
}

/** Collects the facts; `root` is the repository (for git and node_modules). */
export function machineFacts(root: string, loadGenerator: string, pinning: string): MachineFacts {
  return {
    date: new Date().toISOString(),
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    hostname: hostname(),
    node: process.version,
    undici: packageVersion(root, 'undici'),
    gitCommit: gitCommit(root),
    loadGenerator,
    pinning,
  };
}
