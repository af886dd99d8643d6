import type { RootDatabase } from 'lmdb';
import type { AnyActorRef } from 'xstate';
import type { OptimizerConfig } from '../src/config/types.js';
import type { FrontDoor } from '../src/http/front-door.js';
import type { AgentDirectory } from '../src/identity/agents.js';
import type { Logger } from '../src/log/logger.js';
import type { RoutingTable } from '../src/routing/table.js';
import type { EventBus } from '../src/telemetry/event-bus.js';
import type { Limiter } from '../src/limits/limiter.js';
import type { WorkerPool } from '../src/workers/pool.js';
import type { DeadLetters } from '../src/dlq/dead-letters.js';
import type { ResponseCache } from '../src/cache/response-cache.js';
import type { QuotaTracker } from '../src/resilience/quota.js';
import type { ModelCatalog } from '../src/providers/catalog.js';
import type { AutoRouting } from '../src/routing/auto.js';
import type { Discovery } from '../src/discovery/discovery.js';
import type { ChildSpec } from '../machines/supervisor.machine.js';
import type { Metrics } from '../src/metrics/metrics.js';
import type { Alerts } from '../src/alerts/alerts.js';

/**
 * What the actors of one optimizer share: the frozen config, the logger, the event bus,
 * and the handles that long-lived actors publish while they run (the store, the front
 * door). Passed to the tree as input; nothing here is global.
 */
export interface Runtime {
  config: OptimizerConfig;
  logger: Logger;
  bus: EventBus;
  env: NodeJS.ProcessEnv;
  directory: AgentDirectory;
  /** The routing table in force: rebuilt (and sent to the router) when discovery finds backends or models. */
  table: RoutingTable;
  /** Context windows, prices and task strengths of the configured models (src/providers/catalog.ts). */
  catalog: ModelCatalog;
  /** Task routing of `model: "auto"`, precomputed from the config and the catalog. */
  auto: AutoRouting;
  /** Finds backends (cloud keys, local servers) and knows which are reachable (src/discovery/). */
  discovery: Discovery;
  /**
   * The `backends` supervisor's children. Discovery appends the backends it finds later, so a
   * restarted `backends` supervisor starts them too.
   */
  backendSpecs: ChildSpec[];
  /** The one rate limiter of the process: every door and every restart of the front door share it. */
  limiter: Limiter;
  /** Per backend: what its rate-limit headers said (outlives restarts of the backend actor). */
  quotas: ReadonlyMap<string, QuotaTracker>;
  /** Requests that exhausted every backend, in the store's LMDB environment. */
  deadLetters: DeadLetters;
  /**
   * The response cache, in the store's LMDB environment. One per process, like the store: it outlives
   * front-door restarts, and the store actor opens it (its key filter) and flushes its waiting writes.
   */
  cache: ResponseCache;
  /** Counters, roll-ups and the Prometheus registry (undefined when `metrics.enabled` is false). */
  metrics: Metrics | undefined;
  startedAt: number;
  /** The root supervisor, once started. */
  root: AnyActorRef | undefined;
  /** Set by the store actor while it runs. */
  store: RootDatabase | undefined;
  /** The Piscina pool sharing the store's LMDB environment; set by the store actor while it runs. */
  pool: WorkerPool | undefined;
  /** The alert engine; set by the telemetry actor while it runs. */
  alerts?: Alerts | undefined;
  /** Set by the front-door actor while it runs. */
  frontDoor: FrontDoor | undefined;
  /** Called each time a front door starts listening (again, after a restart). */
  onListening: (port: number) => void;
  /** Settles when what the store actor closed last (LMDB, the pool) has finished closing. */
  closing: Promise<void>;
  /** The port the first front door bound; a restarted front door binds it again (so `port: 0` picks once). */
  boundPort: number | undefined;
}
