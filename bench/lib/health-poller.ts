/**
 * Polls the optimizer's `GET /health` at a fixed cadence and keeps, per poll, each backend's state and
 * circuit breaker (`backends[].breaker`), so a benchmark can show the breaker transitions a load
 * balancer or an operator would have seen. One keep-alive connection; a poll that is still running
 * when the next is due is not doubled (the late one is counted as skipped).
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Client } from 'undici';

export interface BackendSample {
  /** `serving`, `disabled`, `restarting`. */
  state: string;
  /** `closed`, `open`, `half_open`; undefined when /health shows no breaker (backend restarting or disabled). */
  breaker: string | undefined;
  /** Lifetime opens of the breaker: a rise between two polls means it opened (again) in between. */
  opens: number | undefined;
  consecutiveFailures: number | undefined;
}

export interface HealthSample {
  /** Wall clock when the poll was sent and when its answer was read (ms since the epoch, sub-ms). */
  sentAt: number;
  doneAt: number;
  status: string;
  backends: Record<string, BackendSample>;
}

export interface HealthPoller {
  readonly samples: readonly HealthSample[];
  /** Polls that failed (no answer, not JSON) and polls skipped because the previous one was still running. */
  readonly failed: number;
  readonly skipped: number;
  stop(): Promise<void>;
}

const wallNow = (): number => performance.timeOrigin + performance.now();

interface HealthBody {
  status?: string;
  backends?: { id?: string; state?: string; breaker?: { state?: string; opens?: number; consecutiveFailures?: number } }[];
}

export function pollHealth(origin: string, intervalMs: number): HealthPoller {
  const client = new Client(origin, { headersTimeout: 2000, bodyTimeout: 2000, keepAliveTimeout: 60_000 });
  const samples: HealthSample[] = [];
  let failed = 0;
  let skipped = 0;
  let busy = false;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;

  const pollOnce = async (): Promise<void> => {
    const sentAt = wallNow();
    try {
      const res = await client.request({ method: 'GET', path: '/health' });
      const text = await res.body.text();
      const doneAt = wallNow();
      const body = JSON.parse(text) as HealthBody;
      const backends: Record<string, BackendSample> = {};
      for (const b of body.backends ?? []) {
        if (typeof b.id !== 'string') continue;
        backends[b.id] = {
          state: b.state ?? 'unknown',
          breaker: b.breaker?.state,
          opens: b.breaker?.opens,
          consecutiveFailures: b.breaker?.consecutiveFailures,
        };
      }
      samples.push({ sentAt, doneAt, status: body.status ?? 'unknown', backends });
    } catch {
      failed++;
    }
  };

  const started = performance.now();
  let k = 0;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (stopped) return;
    k++;
    // Fixed cadence from the start, so a slow poll does not shift every later one.
    const delay = Math.max(0, started + k * intervalMs - performance.now());
    timer = setTimeout(tick, delay);
  };
  const tick = (): void => {
    if (stopped) return;
    if (busy) skipped++;
    else {
      busy = true;
      current = pollOnce().finally(() => {
        busy = false;
      });
    }
    schedule();
  };
  tick();

  return {
    get samples() {
      return samples;
    },
    get failed() {
      return failed;
    },
    get skipped() {
      return skipped;
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        await current;
        await client.close();
      })();
      return stopping;
    },
  };
}

/**
 * {@link pollHealth} in a worker thread of its own: the same polls, timed outside the bench's main
 * event loop. `samples`, `failed` and `skipped` are filled in once `stop()` resolves.
 */
export function pollHealthInWorker(origin: string, intervalMs: number): HealthPoller {
  const worker = new Worker(new URL('./health-poller-worker.js', import.meta.url), { workerData: { origin, intervalMs } });
  let result: { samples: HealthSample[]; failed: number; skipped: number } = { samples: [], failed: 0, skipped: 0 };
  let stopping: Promise<void> | undefined;
  return {
    get samples() {
      return result.samples;
    },
    get failed() {
      return result.failed;
    },
    get skipped() {
      return result.skipped;
    },
    stop() {
      stopping ??= new Promise<void>((resolve, reject) => {
        worker.once('message', (message: typeof result) => {
          result = message;
          void worker.terminate().then(() => resolve());
        });
        worker.once('error', reject);
        worker.postMessage('stop');
      });
      return stopping;
    },
  };
}
