import type { AnyActorLogic } from 'xstate';
import type { BreakerEmitted } from '../machines/breaker.machine.js';
import { routerMachine } from '../machines/router.machine.js';
import { supervisorMachine, type ChildSpec, type SupervisorEmitted, type SupervisorInput } from '../machines/supervisor.machine.js';
import type { RootChildId, RootChildSpec } from '../src/config/types.js';
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
  const report = (event: SupervisorEmitted | BreakerEmitted) => {
    const { type, ...fields } = event;
    runtime.bus.publish(type, fields);
  };

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
          input: nested(
            spec,
            'backends',
            config.backends.map((b) => backendSpec(b, runtime.env, { quota: runtime.quotas.get(b.id), onBreakerEvent: report })),
          ),
        };
      case 'router':
        return {
          logic: routerMachine,
          input: { table: runtime.table, auto: runtime.auto, health: new LiveHealth(() => runtime.root?.system, runtime.quotas) },
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
