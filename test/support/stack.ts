import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { startOpenAIUpstream, type OpenAIUpstream, type UpstreamOptions } from '../../src/loopback/openai-upstream.js';
import { startOptimizer, type Optimizer } from '../../src/optimizer.js';
import type { Clock } from '../../src/limits/clock.js';
import type { ProviderName } from '../../src/config/types.js';
import type { CostFunction } from '../../src/metrics/recorder.js';

export interface Stack {
  optimizer: Optimizer;
  upstreams: Record<string, OpenAIUpstream>;
  /** Every log line the optimizer wrote. */
  logs: string[];
  dataDir: string;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Loopback upstreams by backend id (each becomes an `openai-compatible` backend). */
  upstreams?: Record<
    string,
    UpstreamOptions & {
      models?: string[];
      apiKeyEnv?: string;
      provider?: ProviderName;
      timeouts?: { connectMs?: number; headersMs?: number; bodyIdleMs?: number };
      /** The backend's own rate limits (`backends[].limits`). */
      limits?: { requestsPerMinute?: number; tokensPerMinute?: number };
    }
  >;
  /** More backend entries (e.g. native-format loopbacks started by the test), after the generated ones. */
  extraBackends?: Record<string, unknown>[];
  /** Extra config merged over the generated one (top-level keys replace). */
  config?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  /** The limiter's clock (e.g. fastClock(100) to make 60 s windows last 0.6 s). */
  limiterClock?: Clock;
  /** The price function of the cost metrics. */
  cost?: CostFunction;
}

/**
 * Starts real loopback upstreams and the real optimizer on port 0, configured through a
 * real config file (so it is validated like in production), logging into memory.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const upstreams: Record<string, OpenAIUpstream> = {};
  const backends = [];
  for (const [id, upstreamOptions] of Object.entries(options.upstreams ?? { main: {} })) {
    const upstream = await startOpenAIUpstream(upstreamOptions);
    upstreams[id] = upstream;
    const backend: Record<string, unknown> = {
      id,
      provider: upstreamOptions.provider ?? 'openai-compatible',
      baseUrl: upstream.url,
      models: upstreamOptions.models ?? ['test-model'],
      timeouts: { connectMs: 2000, headersMs: 5000, bodyIdleMs: 5000, ...upstreamOptions.timeouts },
    };
    if (upstreamOptions.apiKeyEnv) backend.apiKeyEnv = upstreamOptions.apiKeyEnv;
    if (upstreamOptions.limits) backend.limits = upstreamOptions.limits;
    backends.push(backend);
  }
  backends.push(...(options.extraBackends ?? []));
  const dir = mkdtempSync(join(tmpdir(), 'optimizer-test-'));
  const dataDir = options.dataDir ?? join(dir, 'data');
  const file = join(dir, 'supervisor.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      server: { port: 0, shutdownGraceMs: 2000 },
      log: { level: 'debug' },
      backends,
      supervision: { backoff: { initialMs: 20, maxMs: 200 } },
      // Hermetic: no probing of the machine's real 127.0.0.1:11434 / :8000 unless a test asks.
      discovery: { local: [] },
      ...options.config,
    }),
  );
  const env = options.env ?? {};
  const config = loadConfig({ configPath: file, dataDir }, env);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const logger = createLogger({ level: config.log.level, destination });
  const optimizer = await startOptimizer({
    config,
    logger,
    env,
    ...(options.limiterClock ? { limiterClock: options.limiterClock } : {}),
    ...(options.cost ? { cost: options.cost } : {}),
  });
  return {
    optimizer,
    upstreams,
    logs,
    dataDir,
    async close() {
      await optimizer.stop();
      await Promise.all(Object.values(upstreams).map((u) => u.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
