import { fromPromise } from 'xstate';
import { FrontDoor } from '../src/http/front-door.js';
import { readSecret } from '../src/config/secrets.js';
import type { Runtime } from './runtime.js';

/**
 * The front-door actor: the HTTP + WebSocket server. It runs until stopped (its
 * AbortSignal closes the server) or until the server fails, which crashes the actor so
 * that the supervisor restarts it.
 */
export const frontDoorActor = fromPromise<void, { runtime: Runtime }>(async ({ input, system, signal }) => {
  const { runtime } = input;
  const frontDoor = new FrontDoor({
    system,
    root: () => runtime.root,
    limiter: runtime.limiter,
    deadLetters: runtime.deadLetters,
    cache: runtime.cache,
    quotas: runtime.quotas,
    pool: () => runtime.pool,
    config: runtime.config,
    logger: runtime.logger,
    bus: runtime.bus,
    directory: runtime.directory,
    // The table in force (discovery may swap it while the door runs).
    get table() {
      return runtime.table;
    },
    discovery: runtime.discovery,
    adminKey: readSecret(runtime.config.admin.keyEnv, runtime.env),
    metrics: runtime.metrics,
    startedAt: runtime.startedAt,
    alerts: () => runtime.alerts,
  });
  const stopped = new Promise<void>((resolve, reject) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
    frontDoor.onFatal(reject);
  });
  try {
    const address = await frontDoor.listen(runtime.boundPort);
    runtime.boundPort = address.port;
    runtime.frontDoor = frontDoor;
    runtime.logger.info({ event: 'server.listening', host: address.address, port: address.port }, `optimizer listening on http://${address.address}:${address.port}`);
    runtime.onListening(address.port);
    await stopped;
  } finally {
    if (runtime.frontDoor === frontDoor) runtime.frontDoor = undefined;
    frontDoor.close();
  }
});
