import type { AnyActorLogic } from 'xstate';
import type { BreakerEmitted } from '../machines/breaker.machine.js';
import { routerMachine } from '../machines/router.machine.js';
import { supervisorMachine, type ChildSpec, type SupervisorEmitted, type SupervisorInput } from '../machines/supervisor.machine.js';
import type { BackendConfig, RootChildId, RootChildSpec } from '../src/config/types.js';
import { backendSpec } from './backend.js';
import { frontDoorActor } from './front-door.js';
import { LiveHealth, ROUTER_SYSTEM_ID } from './router.js';
import type { Runtime } from './runtime.js';
import { SESSIONS_SYSTEM_ID } from './session.js';
import { storeActor } from './store.js';
import { telemetryActor } from './telemetry.js';

/**
 * Builds the supervision tree of DESIGN.md §3 from `supervisor.config.json`:
 *
 *     root (rest_for_one)
 *     ├── store        LMDB env
 *     ├── telemetry    event log
 *     ├── backends     (one_for_one) → backend:<id>
 *     ├── router
 *     ├── sessions     (one_for_one) → session:<agentId>
 *     └── frontDoor    HTTP + WebSocket server
 *
 * The order and the restart policies come from `supervision.children`.
 */
export function rootSupervisorInput(runtime: Runtime): SupervisorInput {
  const { config } = runtime;
  const { supervision } = config;
  const report = reporter(runtime);

  const nested = (spec: RootChildSpec, name: string, children: ChildSpec[]): SupervisorInput => ({
    name,
    strategy: spec.strategy ?? 'one_for_one',
    intensity: spec.intensity ?? supervision.intensity,
    periodMs: spec.periodMs ?? supervision.periodMs,
    backoff: supervision.backoff,
    children,
    report,
  });

  const logicFor = (spec: RootChildSpec): { logic: AnyActorLogic; input: unknown } => {
    switch (spec.id) {
      case 'store':
        return { logic: storeActor, input: { runtime } };
      case 'telemetry':
        return { logic: telemetryActor, input: { runtime } };
      case 'backends':
        return {
          logic: supervisorMachine,
          // The same array object discovery appends to: a restart starts what was found since.
          input: nested(spec, 'backends', runtime.backendSpecs),
        };
      case 'router':
        // Read when the router (re)starts: a restarted router gets the table in force, not the first one.
        return {
          logic: routerMachine,
          input: {
            get table() {
              return runtime.table;
            },
            get auto() {
              return runtime.auto;
            },
            health: new LiveHealth(() => runtime.root?.system, runtime.quotas, runtime.discovery.availability),
          },
        };
      case 'sessions':
        return { logic: supervisorMachine, input: nested(spec, 'sessions', []) };
      case 'frontDoor':
        return { logic: frontDoorActor, input: { runtime } };
    }
  };
  const systemIds: Record<RootChildId, string> = {
    store: 'store',
    telemetry: 'telemetry',
    backends: 'backends',
    router: ROUTER_SYSTEM_ID,
    sessions: SESSIONS_SYSTEM_ID,
    frontDoor: 'frontDoor',
  };
  const childFor = (spec: RootChildSpec): ChildSpec => ({ id: spec.id, systemId: systemIds[spec.id], restart: spec.restart, ...logicFor(spec) });

  return {
    name: 'root',
    strategy: supervision.strategy,
    intensity: supervision.intensity,
    periodMs: supervision.periodMs,
    backoff: supervision.backoff,
    children: supervision.children.map(childFor),
    report,
  };
}

/** Publishes supervisor and breaker events on the runtime's bus. */
function reporter(runtime: Runtime): (event: SupervisorEmitted | BreakerEmitted) => void {
  return (event) => {
    const { type, ...fields } = event;
    runtime.bus.publish(type, fields);
  };
}

/** The `backends` supervisor's child spec for one backend (configured, or found by discovery). */
export function backendChildSpec(runtime: Runtime, backend: BackendConfig): ChildSpec {
  return backendSpec(backend, runtime.env, { quota: runtime.quotas.get(backend.id), onBreakerEvent: reporter(runtime) });
}
