import { assign, enqueueActions, setup, type AnyActorLogic, type AnyActorRef } from 'xstate';
import { releaseActorTree } from './lifecycle.js';

/**
 * An OTP-style supervisor as an XState machine.
 *
 * - Children start in spec order and stop in reverse order.
 * - `strategy` decides who is restarted with a crashed child: `one_for_one` (only it),
 *   `one_for_all` (every child), `rest_for_one` (it and the children started after it).
 * - `restart` decides whether a child comes back: `permanent` always, `transient` only
 *   after a crash, `temporary` never (it is forgotten).
 * - More than `intensity` restarts within `periodMs` and the supervisor stops its
 *   children and fails upward (throws, which its own parent sees as a crash).
 * - Restarts wait a backoff that doubles with each restart still inside the period.
 *
 * Time comes only from the actor system's clock: each restart schedules a
 * `supervisor.window.expired` event `periodMs` later, so the number of restarts inside
 * the sliding window is simply the number of those events not yet delivered.
 */

export type SupervisorStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

/** One child of a supervisor, addressed by `id` among its siblings and by `systemId` system-wide. */
export interface ChildSpec {
  id: string;
  /** Registered with the actor system, so `system.get(systemId)` finds the child again after a restart. */
  systemId: string;
  restart: RestartPolicy;
  logic: AnyActorLogic;
  input?: unknown;
}

export interface SupervisorInput {
  /** Name used in events and in the escalation error. */
  name: string;
  strategy: SupervisorStrategy;
  intensity: number;
  periodMs: number;
  backoff: { initialMs: number; maxMs: number };
  children: ChildSpec[];
  /** Told about every restart, exit and escalation (telemetry); events are also `emit`ted. */
  report?: (event: SupervisorEmitted) => void;
}

export interface ChildStatus {
  id: string;
  systemId: string;
  restart: RestartPolicy;
  /** `running`, or `restarting` while its backoff timer runs. */
  state: 'running' | 'restarting';
  restarts: number;
  lastExit: string | undefined;
}

export interface SupervisorContext {
  name: string;
  strategy: SupervisorStrategy;
  intensity: number;
  periodMs: number;
  backoff: { initialMs: number; maxMs: number };
  /** Every child the supervisor is responsible for, in start order. */
  specs: ChildSpec[];
  /** Ids of the children that are currently spawned. */
  running: string[];
  /** Restarts whose window has not yet expired. */
  restartsInWindow: number;
  /** Lifetime restart count per child id (for /health). */
  restarts: Record<string, number>;
  lastExit: Record<string, string>;
  report: ((event: SupervisorEmitted) => void) | undefined;
  /** Set once `supervisor.stop` has begun: exits are then expected, not crashes. */
  stopping: boolean;
}

export type SupervisorEvent =
  | { type: 'supervisor.start_child'; spec: ChildSpec }
  | { type: 'supervisor.terminate_child'; id: string }
  | { type: 'supervisor.restart'; ids: string[] }
  | { type: 'supervisor.window.expired' }
  /** Orderly shutdown: stop the children, last started first (supervisors recursively), then end. */
  | { type: 'supervisor.stop' }
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId: string }
  | { type: `xstate.done.actor.${string}`; output: unknown; actorId: string };

export type SupervisorEmitted =
  | { type: 'actor.restarted'; supervisor: string; childId: string; systemId: string; reason: string; restarts: number; delayMs: number }
  | { type: 'actor.exited'; supervisor: string; childId: string; systemId: string; reason: string; restarted: boolean }
  | { type: 'supervisor.escalated'; supervisor: string; childId: string; reason: string; restartsInWindow: number };

/** Thrown by a supervisor that exceeded its intensity; its parent sees it as a crash. */
export class SupervisorEscalation extends Error {
  constructor(
    readonly supervisor: string,
    readonly childId: string,
    readonly reason: string,
  ) {
    super(`supervisor ${supervisor} gave up: child ${childId} exceeded the restart intensity (${reason})`);
    this.name = 'SupervisorEscalation';
  }
}

/** Why an exit happened, as one line for logs and /health. */
export function describeExit(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The backoff before the `n`-th restart inside one window (n ≥ 1). */
export function restartDelay(backoff: { initialMs: number; maxMs: number }, n: number): number {
  const delay = backoff.initialMs * 2 ** Math.max(0, n - 1);
  return Math.min(backoff.maxMs, delay);
}

/** Which children a crash of `failedId` takes down with it, in start order. */
export function affectedChildren(strategy: SupervisorStrategy, specs: readonly ChildSpec[], failedId: string): string[] {
  const ids = specs.map((s) => s.id);
  switch (strategy) {
    case 'one_for_one':
      return [failedId];
    case 'one_for_all':
      return ids;
    case 'rest_for_one':
      return ids.slice(ids.indexOf(failedId));
  }
}

function childIdOf(eventType: string): string {
  return eventType.slice(eventType.indexOf('.actor.') + '.actor.'.length);
}

/** What a supervisor does about one child's exit: a pure decision, applied by the machine. */
export type ExitPlan =
  | { kind: 'ignore' }
  | { kind: 'forget'; childId: string }
  | { kind: 'escalate'; childId: string; stop: string[] }
  | { kind: 'restart'; childId: string; stop: string[]; forget: string[]; restart: string[]; delayMs: number };

/**
 * Decide what an exit of `childId` means under the child's restart policy, the
 * strategy and the intensity. `stop` lists the siblings to stop, last started first.
 */
export function planExit(context: SupervisorContext, childId: string, crashed: boolean): ExitPlan {
  const spec = context.specs.find((s) => s.id === childId);
  // Not ours, or already stopped together with a sibling: nothing to do.
  if (!spec || !context.running.includes(childId)) return { kind: 'ignore' };

  const restartIt = spec.restart === 'permanent' || (spec.restart === 'transient' && crashed);
  if (!restartIt) return { kind: 'forget', childId };

  if (context.restartsInWindow + 1 > context.intensity) {
    const stop = context.running.filter((id) => id !== childId).reverse();
    return { kind: 'escalate', childId, stop };
  }

  const takenDown = affectedChildren(context.strategy, context.specs, childId);
  const stop = takenDown.filter((id) => id !== childId && context.running.includes(id)).reverse();
  // OTP never restarts a temporary child: stopped with a sibling, it is forgotten.
  const forget = stop.filter((id) => context.specs.find((s) => s.id === id)?.restart === 'temporary');
  const restart = takenDown.filter((id) => !forget.includes(id));
  return { kind: 'restart', childId, stop, forget, restart, delayMs: restartDelay(context.backoff, context.restartsInWindow + 1) };
}

/**
 * spawnChild's options for a spec. XState types child ids from a static `children`
 * map; a supervisor's children are dynamic, so the id is passed through untyped.
 */
function spawnOptions(spec: ChildSpec): { id: undefined; systemId: string; input: unknown } {
  return { id: spec.id, systemId: spec.systemId, input: spec.input } as unknown as { id: undefined; systemId: string; input: unknown };
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
    emitted: {} as SupervisorEmitted,
  },
  actions: {
    /** A child exited: apply `planExit`'s decision. */
    applyExit: enqueueActions(({ context, event, enqueue, self }) => {
      const exit = event as { type: string; error?: unknown };
      if (context.stopping) return;
      const tell = (e: SupervisorEmitted) => {
        enqueue.emit(e);
        enqueue(() => context.report?.(e));
      };
      const crashed = exit.type.startsWith('xstate.error.');
      const childId = childIdOf(exit.type);
      const reason = crashed ? describeExit(exit.error) : 'normal';
      const plan = planExit(context, childId, crashed);
      if (plan.kind === 'ignore') return;
      const spec = context.specs.find((s) => s.id === childId)!;

      // The dead child's own children may still be running (see lifecycle.ts): release them.
      const deadRef = (self.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children[childId];
      enqueue(() => releaseActorTree(deadRef));
      enqueue.stopChild(childId);
      const lastExit = { ...context.lastExit, [childId]: reason };

      switch (plan.kind) {
        case 'forget': {
          const { [childId]: _removed, ...restarts } = context.restarts;
          enqueue.assign({
            specs: context.specs.filter((s) => s.id !== childId),
            running: context.running.filter((id) => id !== childId),
            restarts,
            lastExit,
          });
          tell({ type: 'actor.exited', supervisor: context.name, childId, systemId: spec.systemId, reason, restarted: false });
          return;
        }
        case 'escalate': {
          // XState defers stopChild until the transition ends, which a throw never reaches:
          // release the siblings directly, last started first, then fail.
          const children = (self.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
          enqueue.assign({ running: [], lastExit });
          tell({ type: 'supervisor.escalated', supervisor: context.name, childId, reason, restartsInWindow: context.restartsInWindow });
          enqueue(() => {
            for (const id of plan.stop) releaseActorTree(children[id]);
            throw new SupervisorEscalation(context.name, childId, reason);
          });
          return;
        }
        case 'restart': {
          for (const id of plan.stop) enqueue.stopChild(id);
          const restarts = { ...context.restarts, [childId]: (context.restarts[childId] ?? 0) + 1 };
          for (const id of plan.forget) delete restarts[id];
          enqueue.assign({
            specs: context.specs.filter((s) => !plan.forget.includes(s.id)),
            running: context.running.filter((id) => id !== childId && !plan.stop.includes(id)),
            restartsInWindow: context.restartsInWindow + 1,
            restarts,
            lastExit,
          });
          enqueue.raise({ type: 'supervisor.window.expired' }, { delay: context.periodMs });
          enqueue.raise({ type: 'supervisor.restart', ids: plan.restart }, { delay: plan.delayMs, id: `restart:${childId}` });
          tell({
            type: 'actor.restarted',
            supervisor: context.name,
            childId,
            systemId: spec.systemId,
            reason,
            restarts: restarts[childId] ?? 1,
            delayMs: plan.delayMs,
          });
          return;
        }
      }
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    name: input.name,
    strategy: input.strategy,
    intensity: input.intensity,
    periodMs: input.periodMs,
    backoff: input.backoff,
    specs: [...input.children],
    running: [],
    restartsInWindow: 0,
    restarts: Object.fromEntries(input.children.map((c) => [c.id, 0])),
    lastExit: {},
    report: input.report,
    stopping: false,
  }),
  // Start every child, in order.
  entry: enqueueActions(({ context, enqueue }) => {
    for (const spec of context.specs) enqueue.spawnChild(spec.logic, spawnOptions(spec));
    enqueue.assign({ running: context.specs.map((s) => s.id) });
  }),
  initial: 'supervising',
  states: {
    supervising: {},
    stopped: { type: 'final' },
  },
  on: {
    'supervisor.stop': {
      target: '.stopped',
      actions: enqueueActions(({ context, enqueue, self }) => {
        enqueue.assign({ stopping: true });
        const children = (self.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
        for (const id of [...context.running].reverse()) {
          const child = children[id];
          // A child supervisor stops its own children in reverse first.
          if (child && (child.getSnapshot() as { machine?: { id?: string } }).machine?.id === 'supervisor') {
            enqueue.sendTo(child, { type: 'supervisor.stop' });
          }
          enqueue.stopChild(id);
        }
        enqueue.assign({ running: [] });
      }),
    },
    'supervisor.start_child': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        if (context.specs.some((s) => s.id === event.spec.id)) return;
        const spec = event.spec;
        enqueue.spawnChild(spec.logic, spawnOptions(spec));
        enqueue.assign({
          specs: [...context.specs, spec],
          running: [...context.running, spec.id],
          restarts: { ...context.restarts, [spec.id]: 0 },
        });
      }),
    },

    'supervisor.terminate_child': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        if (!context.specs.some((s) => s.id === event.id)) return;
        if (context.running.includes(event.id)) enqueue.stopChild(event.id);
        enqueue.cancel(`restart:${event.id}`);
        const { [event.id]: _removed, ...restarts } = context.restarts;
        enqueue.assign({
          specs: context.specs.filter((s) => s.id !== event.id),
          running: context.running.filter((id) => id !== event.id),
          restarts,
        });
      }),
    },

    'supervisor.window.expired': {
      actions: assign({ restartsInWindow: ({ context }) => Math.max(0, context.restartsInWindow - 1) }),
    },

    'supervisor.restart': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        // Start in spec order whatever order the ids came in.
        const wanted = context.specs.filter((s) => event.ids.includes(s.id) && !context.running.includes(s.id));
        for (const spec of wanted) enqueue.spawnChild(spec.logic, spawnOptions(spec));
        enqueue.assign({ running: [...context.running, ...wanted.map((s) => s.id)] });
      }),
    },

    'xstate.error.actor.*': { actions: 'applyExit' },
    'xstate.done.actor.*': { actions: 'applyExit' },
  },
});

/** The state of each child, for /health. */
export function childStatuses(context: SupervisorContext): ChildStatus[] {
  return context.specs.map((s) => ({
    id: s.id,
    systemId: s.systemId,
    restart: s.restart,
    state: context.running.includes(s.id) ? 'running' : 'restarting',
    restarts: context.restarts[s.id] ?? 0,
    lastExit: context.lastExit[s.id],
  }));
}

