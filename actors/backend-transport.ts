import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { fromCallback } from 'xstate';
import { OptimizerError } from '../src/errors/registry.js';
import { authHeaders } from '../src/providers/presets.js';
import { upstreamFailure } from '../src/upstream/errors.js';
import { parseRateLimitHeaders } from '../src/resilience/quota.js';
import type { BackendInput, BackendStats, UpstreamCall } from '../src/upstream/types.js';

/** How often a transport's counters are reported to its backend actor while they change. */
export const STATS_INTERVAL_MS = 200;
const EWMA_ALPHA = 0.2;


/**
 * The I/O half of a backend actor: an undici pool of keep-alive connections to one
 * backend. It lives exactly as long as its backend actor; when that actor stops or
 * crashes, the pool is destroyed and every call still in flight fails with
 * BACKEND_UNAVAILABLE, so callers can try elsewhere instead of waiting forever.
 */
export const backendTransport = fromCallback<{ type: 'backend.call'; call: UpstreamCall }, BackendInput>(
  ({ input, receive, sendBack }) => {
    const { backend } = input;
    const base = new URL(backend.baseUrl);
    const basePath = base.pathname.replace(/\/+$/, '');
    const pool = new Pool(base.origin, {
      connections: backend.connections,
      connect: { timeout: backend.timeouts.connectMs },
      headersTimeout: backend.timeouts.headersMs,
      bodyTimeout: backend.timeouts.bodyIdleMs,
      keepAliveTimeout: 30_000,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...backend.headers,
      ...authHeaders(backend.provider, input.apiKey?.reveal()),
    };
    let closed = false;
    const stats: BackendStats = { type: 'backend.stats', inFlight: 0, succeeded: 0, failed: 0, latencyEwmaMs: undefined, lastErrorCode: undefined };
    let dirty = false;
    const reporter = setInterval(() => {
      if (!dirty || closed) return;
      dirty = false;
      sendBack({ ...stats });
    }, STATS_INTERVAL_MS);
    reporter.unref();

    const settle = (started: number, ok: boolean, status: number, errorCode?: string) => {
      stats.inFlight--;
      if (ok) stats.succeeded++;
      else {
        stats.failed++;
        stats.lastErrorCode = errorCode ?? `HTTP_${status}`;
      }
      const latency = performance.now() - started;
      stats.latencyEwmaMs = stats.latencyEwmaMs === undefined ? latency : stats.latencyEwmaMs + EWMA_ALPHA * (latency - stats.latencyEwmaMs);
      dirty = true;
    };

    receive((event) => {
      const call = event.call;
      if (closed) {
        call.reject(new OptimizerError('BACKEND_UNAVAILABLE', `Backend ${backend.id} is restarting.`, { details: { backend: backend.id } }));
        return;
      }
      const started = performance.now();
      stats.inFlight++;
      dirty = true;
      pool
        .request({
          method: call.method,
          path: basePath + call.path,
          headers,
          body: call.body ?? null,
          signal: call.signal ?? null,
        })
        .then(
          (res) => {
            const ok = res.statusCode < 400;
            // Remember what the backend says of its quota, to steer away before it answers 429.
            input.quota?.observe(parseRateLimitHeaders(res.headers, Date.now()));
            res.body.once('end', () => settle(started, ok, res.statusCode));
            res.body.once('error', (err) => settle(started, false, res.statusCode, upstreamFailure(err, backend.id).code));
            call.resolve({ status: res.statusCode, headers: res.headers, body: res.body, backendId: backend.id });
          },
          (err: unknown) => {
            const failure = upstreamFailure(err, backend.id);
            settle(started, false, 0, failure.code);
            call.reject(failure);
          },
        );
    });

    return () => {
      closed = true;
      clearInterval(reporter);
      void pool
        .destroy(new OptimizerError('BACKEND_UNAVAILABLE', `Backend ${backend.id} is restarting.`, { details: { backend: backend.id } }))
        .catch(() => undefined);
    };
  },
);
