import type { AnyActorRef } from 'xstate';
import type { BackendContext } from '../../machines/backend.machine.js';
import { breakerHealth, type BreakerHealth, type BreakerSnapshot } from '../../machines/breaker.machine.js';
import { childStatuses, type ChildStatus, type SupervisorContext } from '../../machines/supervisor.machine.js';
import type { ProbeStatus } from '../discovery/availability.js';
import type { Discovery, LocalProbeHealth } from '../discovery/discovery.js';
import type { QuotaState, QuotaTracker } from '../resilience/quota.js';

export interface TreeNode extends ChildStatus {
  strategy?: string;
  restartsInWindow?: number;
  children?: TreeNode[];
  /** For the sessions supervisor: how many sessions (not listed one by one). */
  count?: number;
}

export interface BackendHealth {
  id: string;
  provider: string;
  /**
   * `serving`, `disabled` (with the reason), `restarting` (its actor is down), or, for a local
   * backend whose health probe fails, `unreachable` / `unhealthy` (see `probe`).
   */
  state: 'serving' | 'disabled' | 'restarting' | 'unreachable' | 'unhealthy';
  disabledReason?: string;
  /** A local backend's last health probe: where, when, its state and, for vLLM, its /metrics load gauges. */
  probe?: Omit<ProbeStatus, 'models'>;
  /** With `maxConcurrency`: the limit and the calls waiting for a slot. */
  concurrency?: { limit: number; inFlight: number; queued: number };
  /** Context windows (vLLM's max_model_len) by model, when the server said. */
  contextWindows?: Record<string, number>;
  inFlight: number;
  succeeded: number;
  failed: number;
  latencyEwmaMs: number | null;
  lastErrorCode: string | null;
  restarts: number;
  models: string[];
  /** The circuit breaker (absent while the backend is disabled or restarting). */
  breaker?: BreakerHealth;
  /** What the backend's rate-limit headers and 429s said: remaining requests/tokens, resets, cooling down. */
  quota?: QuotaState;
}

export interface HealthReport {
  /** `ok`: every part up and a backend serving; `degraded`: answering, but something is down; `draining`: shutting down. */
  status: 'ok' | 'degraded' | 'draining';
  live: boolean;
  ready: boolean;
  uptimeMs: number;
  inFlight: number;
  sessions: number;
  tree: TreeNode[];
  backends: BackendHealth[];
  problems: string[];
  /** The local servers discovery looks for, and what it found there. */
  discovery?: { local: LocalProbeHealth[] };
}

type Snapshot = { status: string; value?: unknown; context?: unknown; children?: Record<string, AnyActorRef | undefined>; machine?: { id?: string } };

function isSupervisor(snapshot: Snapshot | undefined): snapshot is Snapshot & { context: SupervisorContext } {
  return snapshot?.machine?.id === 'supervisor';
}

function walk(ref: AnyActorRef): TreeNode[] {
  const snapshot = ref.getSnapshot() as Snapshot;
  if (!isSupervisor(snapshot)) return [];
  return childStatuses(snapshot.context).map((status) => {
    const child = snapshot.children?.[status.id];
    const childSnapshot = child?.getSnapshot() as Snapshot | undefined;
    if (!isSupervisor(childSnapshot)) return status;
    const node: TreeNode = { ...status, strategy: childSnapshot.context.strategy, restartsInWindow: childSnapshot.context.restartsInWindow };
    if (status.id === 'sessions') node.count = childSnapshot.context.specs.length;
    else if (child) node.children = walk(child);
    return node;
  });
}

/** Reads the live tree (no upstream call, no I/O): cheap enough for a load balancer to poll. */
export function healthReport(
  root: AnyActorRef,
  options: {
    startedAt: number;
    inFlight: number;
    draining: boolean;
    now?: number;
    discovery?: Discovery | undefined;
    quotas?: ReadonlyMap<string, QuotaTracker>;
  },
): HealthReport {
  const { discovery } = options;
  const modelsNow = discovery ? new Map(discovery.backends().map((b) => [b.id, b.models])) : undefined;
  const now = options.now ?? Date.now();
  const tree = walk(root);
  const problems: string[] = [];
  for (const node of tree) if (node.state !== 'running') problems.push(`${node.id} is restarting (last exit: ${node.lastExit ?? 'unknown'})`);

  const backendsNode = tree.find((n) => n.id === 'backends');
  const backendsRef = (root.getSnapshot() as Snapshot).children?.backends;
  const backendChildren = (backendsRef?.getSnapshot() as Snapshot | undefined)?.children ?? {};
  const backends: BackendHealth[] = (backendsNode?.children ?? []).map((node) => {
    const snapshot = backendChildren[node.id]?.getSnapshot() as (Snapshot & { context: BackendContext }) | undefined;
    const context = snapshot?.status === 'active' ? snapshot.context : undefined;
    const probe = discovery?.availability.probe(node.id);
    const probeDown = probe?.state === 'unreachable' || probe?.state === 'unhealthy' ? probe.state : undefined;
    const state: BackendHealth['state'] = !context ? 'restarting' : context.disabledReason !== undefined ? 'disabled' : (probeDown ?? 'serving');
    const health: BackendHealth = {
      id: node.id,
      provider: context?.provider ?? 'unknown',
      state,
      inFlight: context?.inFlight ?? 0,
      succeeded: context?.succeeded ?? 0,
      failed: context?.failed ?? 0,
      latencyEwmaMs: context?.latencyEwmaMs ?? null,
      lastErrorCode: context?.lastErrorCode ?? null,
      restarts: node.restarts,
      models: modelsNow?.get(node.id) ?? context?.models ?? [],
    };
    if (probe) {
      const { models: listed, ...rest } = probe;
      health.probe = rest;
      const windows = listed.filter((m) => m.maxModelLen !== undefined).map((m) => [m.id, m.maxModelLen!] as const);
      if (windows.length > 0) health.contextWindows = Object.fromEntries(windows);
      if (probeDown && context) problems.push(`backend ${node.id} is ${probeDown} at ${probe.url}${probe.reason ? ` (${probe.reason})` : ''}`);
    }
    const limit = context?.input.backend.maxConcurrency;
    if (limit !== undefined) health.concurrency = { limit, inFlight: context?.inFlight ?? 0, queued: context?.queued ?? 0 };
    const breaker = (snapshot?.children as Record<string, AnyActorRef | undefined> | undefined)?.breaker;
    if (context && breaker && breaker.getSnapshot().status === 'active') {
      health.breaker = breakerHealth(breaker.getSnapshot() as BreakerSnapshot, now);
      if (health.breaker.state !== 'closed') problems.push(`backend ${node.id}'s circuit breaker is ${health.breaker.state}`);
    }
    const quota = options.quotas?.get(node.id);
    // Informational: a backend cooling down after a 429 is routed around, not a problem of the optimizer.
    if (quota) health.quota = quota.state(now);
    if (context?.disabledReason !== undefined) {
      health.disabledReason = context.disabledReason;
      problems.push(`backend ${node.id} is disabled: ${context.disabledReason}`);
    } else if (state === 'restarting') problems.push(`backend ${node.id} is restarting`);
    return health;
  });
  const serving = backends.some((b) => b.state === 'serving');
  if (discovery && !discovery.availability.anyUsable) problems.unshift(discovery.availability.nothingReachableMessage());
  else if (backends.length === 0) problems.push('no backend is configured: add one to `backends` in supervisor.config.json');
  else if (!serving) problems.push('no backend is serving');

  const sessions = tree.find((n) => n.id === 'sessions')?.count ?? 0;
  const status: HealthReport['status'] = options.draining ? 'draining' : problems.length === 0 ? 'ok' : 'degraded';
  return {
    status,
    live: true,
    ready: !options.draining && serving,
    uptimeMs: now - options.startedAt,
    inFlight: options.inFlight,
    sessions,
    tree,
    backends,
    problems,
    ...(discovery ? { discovery: { local: discovery.localProbes() } } : {}),
  };
}
