import type { AnyActorRef } from 'xstate';
import { breakerOf } from '../../actors/backend.js';
import type { Runtime } from '../../actors/runtime.js';
import { SESSIONS_SYSTEM_ID } from '../../actors/session.js';
import type { BreakerState } from '../../machines/breaker.machine.js';
import type { SupervisorContext } from '../../machines/supervisor.machine.js';
import type { GaugeReadings, GaugeSource } from './gauges.js';

/**
 * The gauges of a running optimizer, read from the live parts (no I/O but an O(1) LMDB
 * stat for the dead-letter count): the limiter's queue, the front door's requests in
 * flight, the sessions supervisor's children, the response cache's entries (a count it
 * keeps) and each backend's breaker.
 */
export function runtimeGauges(runtime: Runtime): GaugeSource {
  return (): GaugeReadings => {
    const system = runtime.root?.system;
    const sessions = system?.get(SESSIONS_SYSTEM_ID) as AnyActorRef | undefined;
    const sessionsSnapshot = sessions?.getSnapshot() as { status: string; context: SupervisorContext } | undefined;
    let dlqSize = 0;
    try {
      if (runtime.deadLetters.available) dlqSize = runtime.deadLetters.count();
    } catch {
      // The store is going down: report none rather than fail the scrape.
    }
    const breakers: GaugeReadings['breakers'] = [];
    if (system) {
      for (const backend of runtime.config.backends) {
        const breaker = breakerOf(system, backend.id);
        const snapshot = breaker?.getSnapshot();
        if (snapshot?.status === 'active') breakers.push({ backend: backend.id, state: snapshot.value as BreakerState });
      }
    }
    return {
      queueDepth: runtime.limiter.queueDepth(),
      sessions: sessionsSnapshot?.status === 'active' ? sessionsSnapshot.context.specs.length : 0,
      inFlight: runtime.frontDoor?.gateway.inFlight ?? 0,
      dlqSize,
      cacheEntries: runtime.cache.size,
      cacheEvicted: runtime.cache.evicted,
      breakers,
    };
  };
}
