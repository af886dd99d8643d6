import { createActor, type AnyActorRef, type InspectionEvent, type Observer } from 'xstate';
import { backendChildSpec, rootSupervisorInput } from '../actors/tree.js';
import { ROUTER_SYSTEM_ID } from '../actors/router.js';
import { Discovery } from './discovery/discovery.js';
import { startupSummary } from './discovery/startup-summary.js';
import type { Runtime } from '../actors/runtime.js';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import type { CatalogEntry, OptimizerConfig } from './config/types.js';
import type { HealthReport } from './health/report.js';
import { AgentDirectory } from './identity/agents.js';
import type { Logger } from './log/logger.js';
import { buildAutoRouting } from './routing/auto.js';
import { buildModelCatalog, catalogCost } from './providers/catalog.js';
import { openStore } from './store/open-store.js';
import { EventBus } from './telemetry/event-bus.js';
import { Limiter } from './limits/limiter.js';
import { DeadLetters } from './dlq/dead-letters.js';
import { ResponseCache } from './cache/response-cache.js';
import { QuotaTracker } from './resilience/quota.js';
import type { Clock } from './limits/clock.js';
import { Metrics } from './metrics/metrics.js';
import type { CostFunction } from './metrics/recorder.js';
import { runtimeGauges } from './metrics/runtime-gauges.js';

export interface StartOptions {
  config: OptimizerConfig;
  logger: Logger;
  /** Where backend and agent keys are read from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The rate limiter's clock (tests inject a fast or manual one); default real time. */
  limiterClock?: Clock;
  /** What an upstream call costs in USD (for the cost metrics); without it every cost is 0. */
  cost?: CostFunction;
  /** An XState inspection observer (the Stately inspector), if any. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** A running optimizer. */
export interface Optimizer {
  /** The port the front door listens on (the real one when configured as 0). */
  readonly port: number;
  /** `http://host:port` of the front door. */
  readonly url: string;
  readonly root: AnyActorRef;
  readonly runtime: Runtime;
  health(): HealthReport;
  /** Graceful stop: drain the front door, then stop the tree, last child first. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with the root's error if the tree gives up (the process should exit non-zero). */
  readonly failed: Promise<Error>;
}

/**
 * Starts the supervision tree and resolves once the front door listens. Rejects when
 * the store cannot be opened (naming its path) or the tree fails while starting.
 */
export async function startOptimizer(options: StartOptions): Promise<Optimizer> {
  const { config, logger } = options;
  const env = options.env ?? process.env;

  // Fail the start with a clear message rather than through a restart loop.
  await openStore(config.store).close();

  const directory = new AgentDirectory(config.agents, env);
  if (directory.missingKeys.length > 0) logger.warn({ agents: directory.missingKeys }, 'agents without a key in their keyEnv cannot connect');

  const bus = new EventBus();
  const limiter = Limiter.fromConfig(config, options.limiterClock, {
    queued: (request) => bus.publish('ratelimit.queued', { agentId: request.agentId, backend: request.backendId, model: request.model }),
    rejected: (request, _now, error) => {
      if (error.code === 'RATE_LIMITED') {
        bus.publish('ratelimit.rejected', { agentId: request.agentId, backend: request.backendId, model: request.model, retryAfterMs: error.retryAfterMs });
      }
    },
  });

  // Before the tree: it starts with every backend found (each probe is bounded by discovery.timeoutMs).
  const discovery = new Discovery({ config, env, logger, bus });
  await discovery.start();
  const backends = discovery.backends();

  let listening: ((port: number) => void) | undefined;
  const firstListen = new Promise<number>((resolve) => (listening = resolve));
  const startedAt = Date.now();
  const runtime: Runtime = {
    config,
    logger,
    bus,
    env,
    directory,
    ...routingOf(config, discovery),
    discovery,
    backendSpecs: [],
    limiter,
    deadLetters: new DeadLetters(() => runtime.store),
    cache: new ResponseCache(() => runtime.store, { maxEntries: config.cache.maxEntries }),
    quotas: new Map(backends.map((b) => [b.id, new QuotaTracker()])),
    metrics: config.metrics.enabled ? new Metrics({ config, table: () => runtime.table, store: () => runtime.store, startedAt, cost: options.cost ?? catalogCost(() => runtime.catalog) }) : undefined,
    startedAt,
    root: undefined,
    store: undefined,
    pool: undefined,
    frontDoor: undefined,
    onListening: (port) => listening?.(port),
    boundPort: undefined,
    closing: Promise.resolve(),
  };

  runtime.backendSpecs = backends.map((b) => backendChildSpec(runtime, b));
  discovery.onChange(({ added }) => {
    for (const backend of added) {
      const spec = backendChildSpec(runtime, backend);
      runtime.backendSpecs.push(spec);
      runtime.root?.system.get('backends')?.send({ type: 'supervisor.start_child', spec });
    }
    const routing = routingOf(config, discovery);
    runtime.table = routing.table;
    runtime.catalog = routing.catalog;
    runtime.auto = routing.auto;
    runtime.root?.system.get(ROUTER_SYSTEM_ID)?.send({ type: 'router.table', table: routing.table, auto: routing.auto });
  });
  if (runtime.metrics) runtime.metrics.gauges = runtimeGauges(runtime);

  const root = createActor(supervisorMachine, {
    input: rootSupervisorInput(runtime),
    systemId: 'root',
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  let rejectFailed: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (rejectFailed = resolve));
  root.subscribe({
    error: (error) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      logger.fatal({ err: failure }, 'the supervision tree gave up');
      rejectFailed(failure);
    },
  });
  runtime.root = root;
  root.start();

  const port = await Promise.race([firstListen, failed.then((error) => Promise.reject(error))]).catch(async (error: unknown) => {
    await discovery.stop();
    throw error;
  });
  const summary = startupSummary(discovery);
  if (discovery.availability.anyUsable) logger.info({ event: 'backends.summary', ...summary.fields }, summary.message);
  else logger.warn({ event: 'backends.none_reachable', ...summary.fields }, summary.message);
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await runtime.frontDoor?.drain(config.server.shutdownGraceMs);
      await discovery.stop();
      limiter.close();
      if (root.getSnapshot().status === 'active') root.send({ type: 'supervisor.stop' });
      root.stop();
      // Let the store and the worker pool finish closing (their cleanup runs on stop).
      await runtime.closing;
    })());

  return {
    port,
    url: `http://${host}:${port}`,
    root,
    runtime,
    health: () => {
      if (!runtime.frontDoor) throw new Error('the front door is not running');
      return runtime.frontDoor.health();
    },
    stop,
    failed,
  };
}

/**
 * The routing table, model catalog and task routing for the backends known now (configured and
 * discovered); context windows the local servers report (vLLM's `max_model_len`) count as catalog
 * entries under the file's own.
 */
function routingOf(config: OptimizerConfig, discovery: Discovery): Pick<Runtime, 'table' | 'catalog' | 'auto'> {
  const backends = discovery.backends();
  const table = discovery.routingTable();
  const reported: Record<string, CatalogEntry> = {};
  for (const [name, contextWindow] of Object.entries(discovery.contextWindows())) reported[name] = { contextWindow };
  const catalog = buildModelCatalog({ backends, catalog: { ...reported, ...config.catalog } });
  return { table, catalog, auto: buildAutoRouting({ backends, routing: config.routing }, table, catalog) };
}
