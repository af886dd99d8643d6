/**
 * A loopback vLLM server (`vllm serve <model>` as far as the optimizer can tell): `GET /health`
 * (200 with an empty body, 503 once {@link VllmUpstream.setHealthy} says so), `GET /metrics`
 * (Prometheus text with vLLM's gauges), `GET /v1/models` (with `max_model_len`), and the
 * OpenAI-compatible completions (answered by an inner OpenAI loopback). With `apiKey`, `/v1/*`
 * needs `Authorization: Bearer <key>` as with `vllm serve --api-key`; /health and /metrics stay open.
 *
 * It counts the completions being answered at once (`inFlight`, peak `maxInFlight`), so a test can
 * prove a concurrency limit, and can `hold()` completions until `release()`, so it can do so
 * without depending on timing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, startLocalServer, type LocalServer } from './local-server.js';
import type { OpenAIUpstream, UpstreamOptions } from './openai-upstream.js';

export interface VllmUpstreamOptions {
  /** Served models (default one: `Qwen/Qwen2.5-0.5B-Instruct`, 32768 tokens). */
  models?: { id: string; maxModelLen: number }[];
  /** As `vllm serve --api-key`. */
  apiKey?: string;
  /** Options of the inner OpenAI loopback (latency, chunks, default behaviour). */
  inner?: Omit<UpstreamOptions, 'models' | 'apiKey'>;
  port?: number;
}

/** Load gauges the /metrics endpoint reports instead of the live counts. */
export interface VllmMetricsOverride {
  running?: number;
  waiting?: number;
  kvCacheUsage?: number;
}

export interface VllmUpstream {
  /** The server root (`http://127.0.0.1:PORT`): what `discovery.local[].baseUrl` takes. */
  readonly url: string;
  readonly port: number;
  readonly inner: OpenAIUpstream;
  /** Completions being answered right now, and the most at once since start. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Completions received in all (answered, held or refused). */
  readonly completions: number;
  /** Requests to /health and /metrics (the probes). */
  readonly probes: number;
  /** 200 (true) or 503 (false) on /health; while unhealthy, completions get 503 too. */
  setHealthy(healthy: boolean): void;
  setMetrics(metrics: VllmMetricsOverride | undefined): void;
  /** Completions park (counted in flight) until `release()`. */
  hold(): void;
  /** Lets every parked completion go on, and stops holding. */
  release(): void;
  close(): Promise<void>;
}

const CREATED = 1_700_000_000;

export async function startVllmUpstream(options: VllmUpstreamOptions = {}): Promise<VllmUpstream> {
  const models = options.models ?? [{ id: 'Qwen/Qwen2.5-0.5B-Instruct', maxModelLen: 32_768 }];
  const expected = options.apiKey === undefined ? undefined : `Bearer ${options.apiKey}`;
  let healthy = true;
  let override: VllmMetricsOverride | undefined;
  let holding = false;
  const parked: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let completions = 0;
  let probes = 0;

  const unauthorized = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (expected === undefined || req.headers.authorization === expected) return false;
    sendJson(res, 401, { error: 'Unauthorized' });
    return true;
  };

  const metricsText = (): string => {
    const running = override?.running ?? inFlight;
    const waiting = override?.waiting ?? 0;
    const usage = override?.kvCacheUsage ?? Math.min(1, inFlight / 16);
    const lines: string[] = [];
    const gauge = (name: string, help: string, value: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      // Python's float repr, as vLLM prints it: `5.0`, `0.42`.
      const text = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
      models.forEach((m, i) => lines.push(`${name}{engine="0",model_name="${m.id}"} ${text(i === 0 ? value : 0)}`));
    };
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', running);
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', waiting);
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', usage);
    lines.push(
      '# HELP vllm:e2e_request_latency_seconds Histogram of e2e request latency in seconds.',
      '# TYPE vllm:e2e_request_latency_seconds histogram',
      `vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.3",model_name="${models[0]?.id ?? ''}"} ${completions}.0`,
      `vllm:e2e_request_latency_seconds_count{engine="0",model_name="${models[0]?.id ?? ''}"} ${completions}.0`,
    );
    return `${lines.join('\n')}\n`;
  };

  const server: LocalServer = await startLocalServer(
    (req, res, path) => {
      if (req.method !== 'GET') return false;
      if (path === '/health') {
        probes++;
        res.writeHead(healthy ? 200 : 503, { 'content-length': 0 });
        res.end();
        return true;
      }
      if (path === '/metrics') {
        probes++;
        const body = metricsText();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      }
      if (path === '/v1/models') {
        if (unauthorized(req, res)) return true;
        sendJson(res, 200, {
          object: 'list',
          data: models.map((m) => ({
            id: m.id,
            object: 'model',
            created: CREATED,
            owned_by: 'vllm',
            root: m.id,
            parent: null,
            max_model_len: m.maxModelLen,
            permission: [{ id: `modelperm-${m.id.length}`, object: 'model_permission', created: CREATED, allow_sampling: true, organization: '*', group: null, is_blocking: false }],
          })),
        });
        return true;
      }
      return false;
    },
    {
      ...(options.port === undefined ? {} : { port: options.port }),
      inner: { ...options.inner, models: models.map((m) => m.id) },
      hooks: {
        onCompletion(req, res, forward) {
          completions++;
          if (unauthorized(req, res)) return;
          if (!healthy) {
            req.resume();
            sendJson(res, 503, { error: { message: 'The engine is dead.', type: 'ServiceUnavailableError', param: null, code: 503 } });
            return;
          }
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          let counted = true;
          const done = () => {
            if (!counted) return;
            counted = false;
            inFlight--;
          };
          res.once('finish', done);
          res.once('close', done);
          if (holding) parked.push(forward);
          else forward();
        },
      },
    },
  );

  return {
    url: server.url,
    port: server.port,
    inner: server.inner,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get completions() {
      return completions;
    },
    get probes() {
      return probes;
    },
    setHealthy(value) {
      healthy = value;
    },
    setMetrics(value) {
      override = value;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const go of parked.splice(0)) go();
    },
    close: () => server.close(),
  };
}
