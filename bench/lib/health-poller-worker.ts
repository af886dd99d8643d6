/**
 * Runs {@link pollHealth} in a worker thread, so the bench's own busy event loop (it sends the load
 * and runs the upstream) does not delay the polls or the reading of their answers: the latency
 * measured is the optimizer's. Started by {@link pollHealthInWorker}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pollHealth } from './health-poller.js';

const { origin, intervalMs } = workerData as { origin: string; intervalMs: number };
const poller = pollHealth(origin, intervalMs);
parentPort!.once('message', () => {
  void poller.stop().then(() => {
    parentPort!.postMessage({ samples: poller.samples, failed: poller.failed, skipped: poller.skipped });
  });
});
