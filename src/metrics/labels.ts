import type { RoutingTable } from '../routing/table.js';

/** The label of everything past a cap, or not in the config. */
export const OTHER_LABEL = 'other';
/** The backend and model labels of a request that never got a route (bad model, no session). */
export const NO_ROUTE_LABEL = 'none';

/**
 * Bounded label values for metrics and stats (Prometheus series and LMDB roll-ups grow with
 * every distinct value, so raw client input never becomes a label):
 *
 * - agents: those configured in `agents[]`, else the first `maxAgentLabels` seen (those
 *   already in the stored roll-ups count as seen first, so a restart does not hand out new
 *   ones); every other agent is `other`;
 * - backends: the configured ids; models: the routing table's `backend/model` names;
 *   anything else is `other`, and a request without a route is `none`.
 */
export class MetricLabels {
  readonly #configuredAgents: ReadonlySet<string>;
  readonly #seenAgents = new Set<string>();
  /** The routing table in force (discovery may add backends and models while the optimizer runs). */
  readonly #table: () => Pick<RoutingTable, 'byName' | 'backends'>;
  /** Most agents labelled by name when none are configured. */
  readonly maxAgentLabels: number;

  constructor(
    options: {
      configuredAgents: readonly string[];
      maxAgentLabels: number;
      table: Pick<RoutingTable, 'byName' | 'backends'> | (() => Pick<RoutingTable, 'byName' | 'backends'>);
    },
  ) {
    this.#configuredAgents = new Set(options.configuredAgents);
    this.maxAgentLabels = options.maxAgentLabels;
    const { table } = options;
    this.#table = typeof table === 'function' ? table : () => table;
  }

  /** Agents given their own label so far (configured ones excluded). */
  get seenAgents(): number {
    return this.#seenAgents.size;
  }

  /** Marks agents as already seen (from the stored roll-ups), up to the cap. */
  remember(agentIds: Iterable<string>): void {
    for (const id of agentIds) this.agent(id);
  }

  agent(agentId: string): string {
    if (this.#configuredAgents.size > 0) return this.#configuredAgents.has(agentId) ? agentId : OTHER_LABEL;
    if (this.#seenAgents.has(agentId)) return agentId;
    if (agentId === OTHER_LABEL || agentId === '__proto__' || this.#seenAgents.size >= this.maxAgentLabels) return OTHER_LABEL;
    this.#seenAgents.add(agentId);
    return agentId;
  }

  backend(backendId: unknown): string {
    if (typeof backendId !== 'string') return NO_ROUTE_LABEL;
    return this.#table().backends.has(backendId) ? backendId : OTHER_LABEL;
  }

  /** `backend/model` as the routing table names it. */
  model(name: unknown): string {
    if (typeof name !== 'string') return NO_ROUTE_LABEL;
    return this.#table().byName.has(name) ? name : OTHER_LABEL;
  }
}
