import type { BackendConfig, RoutingConfig, TaskClass } from '../config/types.js';
import { OptimizerError } from '../errors/registry.js';
import type { ClassifyInput } from './classify.js';

/** Where a request goes: a backend and the model name as that backend knows it. */
export interface RouteTarget {
  backendId: string;
  /** The provider's own model id, sent upstream. */
  model: string;
  /** `backendId/model`, the name clients may use. */
  name: string;
}

/**
 * Why the router chose a target (sent back as `x-route-reason`): the static reasons, `task:<class>`
 * for `model: "auto"` routed by task (src/routing/auto.ts), and `failover` once delivery moved on
 * from the first candidate.
 */
export type RouteReason = 'explicit' | 'alias' | 'model' | 'default' | 'pinned' | 'failover' | `task:${TaskClass}`;

export interface Route {
  target: RouteTarget;
  reason: RouteReason;
}

/** A route and every backend that may answer it, in the order to try them. */
export interface RoutePlan extends Route {
  candidates: readonly RouteTarget[];
  /** The request's task class, when `auto` was routed by task. */
  task?: TaskClass;
  /** The prompt's estimated tokens, when classifying counted them. */
  promptTokens?: number;
}

export interface RouteQuery {
  /** The request's `model` field; undefined or `auto` take the default route. */
  model: string | undefined;
  /** The `x-backend` header: use this backend. */
  pinnedBackend: string | undefined;
  /** The request, for task-aware routing of `auto` (without it, `auto` takes the default route). */
  request?: ClassifyInput;
}

/** Whether a request's `model` leaves the choice to the router (`auto`, empty or missing). */
export function isAutoModel(model: string | undefined): model is undefined | '' | 'auto' {
  return model === undefined || model === '' || model === 'auto';
}

/** Everything the router needs to resolve a model name, precomputed from config. */
export interface RoutingTable {
  /** `backendId/model` → target. */
  byName: ReadonlyMap<string, RouteTarget>;
  /** alias → target. */
  aliases: ReadonlyMap<string, RouteTarget>;
  /** bare provider model id → the backends serving it, in config order. */
  byModel: ReadonlyMap<string, readonly RouteTarget[]>;
  /** backend id → its models, in config order. */
  backends: ReadonlyMap<string, readonly RouteTarget[]>;
  defaultTarget: RouteTarget | undefined;
  /** `backendId/model` → its configured fallbacks (aliases resolved), in order. */
  fallbacks: ReadonlyMap<string, readonly RouteTarget[]>;
}

export function buildRoutingTable(config: {
  backends: readonly Pick<BackendConfig, 'id' | 'models'>[];
  routing: Pick<RoutingConfig, 'aliases' | 'fallbacks' | 'defaultModel'>;
}): RoutingTable {
  const byName = new Map<string, RouteTarget>();
  const byModel = new Map<string, RouteTarget[]>();
  const backends = new Map<string, RouteTarget[]>();
  for (const backend of config.backends) {
    const targets: RouteTarget[] = [];
    for (const model of backend.models) {
      const target: RouteTarget = { backendId: backend.id, model, name: `${backend.id}/${model}` };
      targets.push(target);
      byName.set(target.name, target);
      const same = byModel.get(model);
      if (same) same.push(target);
      else byModel.set(model, [target]);
    }
    backends.set(backend.id, targets);
  }
  const aliases = new Map<string, RouteTarget>();
  for (const [alias, name] of Object.entries(config.routing.aliases)) {
    const target = byName.get(name);
    if (target) aliases.set(alias, target);
  }
  const fallbacks = new Map<string, RouteTarget[]>();
  for (const [from, names] of Object.entries(config.routing.fallbacks ?? {})) {
    const source = aliases.get(from) ?? byName.get(from);
    if (!source) continue;
    const targets = names.map((name) => byName.get(name)).filter((t): t is RouteTarget => t !== undefined);
    fallbacks.set(source.name, [...(fallbacks.get(source.name) ?? []), ...targets]);
  }
  const configuredDefault = config.routing.defaultModel;
  const defaultTarget = configuredDefault
    ? (aliases.get(configuredDefault) ?? byName.get(configuredDefault))
    : [...byName.values()][0];
  return { byName, aliases, byModel, backends, defaultTarget, fallbacks };
}

/** Resolves a request's model (and optional pinned backend) to a target, or throws a 404/503. */
export function resolveRoute(table: RoutingTable, query: RouteQuery): Route {
  const { model, pinnedBackend } = query;
  if (pinnedBackend !== undefined && !table.backends.has(pinnedBackend)) {
    throw new OptimizerError('BACKEND_NOT_FOUND', `No backend named '${pinnedBackend}' is configured.`, { details: { backend: pinnedBackend } });
  }

  // A pinned backend's own model id wins, even when it also spells another backend's
  // `backend/model` name (OpenRouter serves `openai/gpt-4o`; a backend `openai` may serve `gpt-4o`).
  // (An explicit `pinned/model` name still means that backend's `model`.)
  if (pinnedBackend !== undefined && model !== undefined) {
    const explicit = table.byName.get(model);
    if (explicit?.backendId === pinnedBackend) return { target: explicit, reason: 'explicit' };
    const own = table.byName.get(`${pinnedBackend}/${model}`);
    if (own) return { target: own, reason: 'pinned' };
  }

  let route: Route | undefined;
  if (isAutoModel(model)) {
    if (pinnedBackend !== undefined) {
      const first = table.backends.get(pinnedBackend)?.[0];
      if (first) return { target: first, reason: 'pinned' };
    }
    if (!table.defaultTarget) throw new OptimizerError('NO_BACKENDS', 'No backend is configured: add one to `backends` in supervisor.config.json.');
    route = { target: table.defaultTarget, reason: 'default' };
  } else {
    const explicit = table.byName.get(model);
    const alias = explicit ? undefined : table.aliases.get(model);
    const bare = explicit || alias ? undefined : table.byModel.get(model);
    if (explicit) route = { target: explicit, reason: 'explicit' };
    else if (alias) route = { target: alias, reason: 'alias' };
    else if (bare?.[0]) {
      const onPinned = pinnedBackend === undefined ? undefined : bare.find((t) => t.backendId === pinnedBackend);
      route = onPinned ? { target: onPinned, reason: 'pinned' } : { target: bare[0], reason: 'model' };
    }
  }
  if (!route) {
    throw new OptimizerError('MODEL_NOT_FOUND', `The model '${model}' does not exist: use a configured 'backend/model', an alias, or 'auto'.`, {
      param: 'model',
      details: { model },
    });
  }
  if (pinnedBackend !== undefined && route.target.backendId !== pinnedBackend) {
    const onPinned = table.byName.get(`${pinnedBackend}/${route.target.model}`);
    if (!onPinned) {
      throw new OptimizerError('MODEL_NOT_FOUND', `Backend '${pinnedBackend}' does not serve the model '${model}'.`, {
        param: 'model',
        details: { model, backend: pinnedBackend },
      });
    }
    return { target: onPinned, reason: 'pinned' };
  }
  return route;
}

/**
 * Every backend that may answer a route, in the order to try them: the chosen target,
 * then the same model on the other backends that serve it (config order), then the
 * configured fallbacks. A pinned route (`x-backend`) has no alternatives.
 */
export function candidatesFor(table: RoutingTable, route: Route, pinned = route.reason === 'pinned'): readonly RouteTarget[] {
  if (pinned) return [route.target];
  // The same for every request to a target while its table stands (tables are immutable).
  let ofTable = unpinnedCandidates.get(table);
  if (ofTable === undefined) unpinnedCandidates.set(table, (ofTable = new Map()));
  let known = ofTable.get(route.target);
  if (known === undefined) ofTable.set(route.target, (known = Object.freeze(listCandidates(table, route.target))));
  return known;
}

/** Per table, the candidates of each target, computed once: a request no longer builds a Set and an array for them. */
const unpinnedCandidates = new WeakMap<RoutingTable, Map<RouteTarget, readonly RouteTarget[]>>();

function listCandidates(table: RoutingTable, target: RouteTarget): RouteTarget[] {
  const seen = new Set<string>([target.name]);
  const candidates = [target];
  const add = (other: RouteTarget) => {
    if (seen.has(other.name)) return;
    seen.add(other.name);
    candidates.push(other);
  };
  for (const same of table.byModel.get(target.model) ?? []) add(same);
  for (const fallback of table.fallbacks.get(target.name) ?? []) add(fallback);
  return candidates;
}

/** The route for a query and every candidate for it: what the router answers. */
export function planRoute(table: RoutingTable, query: RouteQuery): RoutePlan {
  const route = resolveRoute(table, query);
  // Not `{ ...route }`: that spread took V8's slow path, ≈ 1.5% of a cache hit's CPU (profile: line ticks).
  return { target: route.target, reason: route.reason, candidates: candidatesFor(table, route, query.pinnedBackend !== undefined) };
}
