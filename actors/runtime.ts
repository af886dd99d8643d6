import type { RootDatabase } from 'lmdb';
import type { AnyActorRef } from 'xstate';
import type { OptimizerConfig } from '../src/config/types.js';
import type { FrontDoor } from '../src/http/front-door.js';
import type { AgentDirectory } from '../src/identity/agents.js';
import type { Logger } from '../src/log/logger.js';
import type { RoutingTable } from '../src/routing/table.js';
import type { EventBus } from '../src/telemetry/event-bus.js';

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
  table: RoutingTable;
  startedAt: number;
  /** The root supervisor, once started. */
  root: AnyActorRef | undefined;
  /** Set by the store actor while it runs. */
  store: RootDatabase | undefined;
  /** Set by the front-door actor while it runs. */
  frontDoor: FrontDoor | undefined;
  /** Called each time a front door starts listening (again, after a restart). */
  onListening: (port: number) => void;
  /** The port the first front door bound; a restarted front door binds it again (so `port: 0` picks once). */
  boundPort: number | undefined;
}
