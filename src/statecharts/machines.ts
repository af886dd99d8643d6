import type { AnyStateMachine } from 'xstate';
import { backendMachine } from '../../machines/backend.machine.js';
import { breakerMachine } from '../../machines/breaker.machine.js';
import { routerMachine } from '../../machines/router.machine.js';
import { sessionMachine } from '../../machines/session.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { toMermaid } from './mermaid.js';
import { statechartOf, type Statechart } from './model.js';

/** Every machine of machines/, by id. */
export const MACHINES: Readonly<Record<string, AnyStateMachine>> = {
  supervisor: supervisorMachine,
  backend: backendMachine,
  breaker: breakerMachine,
  router: routerMachine,
  session: sessionMachine,
};

export interface MachineChart {
  mermaid: string;
  chart: Statechart;
}

let charts: Record<string, MachineChart> | undefined;

/** Each machine's chart and its Mermaid text (`GET /admin/machines`); computed once, the machines never change. */
export function machineCharts(): Record<string, MachineChart> {
  charts ??= Object.fromEntries(
    Object.entries(MACHINES).map(([id, machine]) => {
      const chart = statechartOf(machine);
      return [id, { mermaid: toMermaid(chart), chart }];
    }),
  );
  return charts;
}
