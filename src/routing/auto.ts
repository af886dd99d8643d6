/**
 * Task-aware routing of `model: "auto"` (docs/routing.md): the request is classified
 * (src/routing/classify.ts), every configured model that can do its task is scored
 * (src/routing/score.ts) from its fit with the task, its backend's breaker, quota and latency, and
 * its price, and the candidates are tried in that order. Everything that depends only on the
 * configuration (which models suit which task, their context windows and prices) is computed once,
 * in {@link buildAutoRouting}; a request costs one classification and O(candidates) reads.
 */
import type { OptimizerConfig, RoutingWeights, TaskClass } from '../config/types.js';
import type { ModelCatalog } from '../providers/catalog.js';
import { classifyRequest, TASK_CLASSES, type ClassifyInput } from './classify.js';
import { blendedPrice, rankCandidates, type BackendAvailability, type CandidateFacts } from './score.js';
import { isAutoModel, planRoute, type RoutePlan, type RouteQuery, type RouteTarget, type RoutingTable } from './table.js';

/** Long threshold when no configured chat model has a known context window. */
export const FALLBACK_LONG_PROMPT_TOKENS = 32_000;
/** Prefix of a `routing.tasks` entry that names every model of a provider's backends. */
export const PROVIDER_ENTRY_PREFIX = 'provider:';

/** The live state of the backends, read when a request is routed (actors/router.ts reads the actors). */
export interface HealthReader {
  /** Breaker state, or `down` while the backend's actor is restarting or disabled. */
  availability(backendId: string): BackendAvailability;
  /** Latency EWMA in ms, undefined before the first call. */
  latencyEwmaMs(backendId: string): number | undefined;
  /** Remaining quota share, 0–1 (1 when nothing is known). */
  quota(backendId: string): number;
}

/** Health when nothing live is known: every backend closed, unmeasured, with quota. */
export const NO_HEALTH: HealthReader = Object.freeze({
  availability: () => 'closed' as const,
  latencyEwmaMs: () => undefined,
  quota: () => 1,
});

/** One configured model, with what the catalog says of it. */
export interface AutoTarget {
  target: RouteTarget;
  /** Position in the configuration: the last tie-breaker. */
  order: number;
  contextWindow: number | undefined;
  blendedPricePerMTok: number | undefined;
  tasks: readonly TaskClass[];
}

/** Everything `auto` needs that depends only on the configuration. */
export interface AutoRouting {
  /** Task → the models that may serve it, in config order. */
  eligible: Readonly<Record<TaskClass, readonly AutoTarget[]>>;
  /** Task → `backendId/model` → fit 0–1. */
  fit: Readonly<Record<TaskClass, ReadonlyMap<string, number>>>;
  /** Prompts estimated above this many tokens are `long`. */
  longPromptTokens: number;
  weights: RoutingWeights;
}

/** Fit of a model at position p of the P entries of its task's list: 0.6 + 0.3·(P − p)/P (+ 0.1 when the catalog says it is strong). */
const LISTED_BASE = 0.6;
const LISTED_SPAN = 0.3;
/** Fit of a model its task's list does not name: 0.1 (+ 0.3 when the catalog says it is strong at the task). */
const UNLISTED_BASE = 0.1;
const UNLISTED_STRONG = 0.3;
const LISTED_STRONG = 0.1;

/** Whether the catalog says a model can do a task at all: embedding models do only embeddings. */
function canDo(tasks: readonly TaskClass[], task: TaskClass): boolean {
  const embeddingOnly = tasks.every((t) => t === 'embeddings');
  return task === 'embeddings' ? tasks.includes('embeddings') : !embeddingOnly;
}

/** The configured targets a `routing.tasks` entry names (a `provider:` entry only those that can do `task`). */
function expandEntry(
  entry: string,
  task: TaskClass,
  table: RoutingTable,
  providerBackends: ReadonlyMap<string, readonly string[]>,
  byName: ReadonlyMap<string, AutoTarget>,
): RouteTarget[] {
  if (entry.startsWith(PROVIDER_ENTRY_PREFIX)) {
    const out: RouteTarget[] = [];
    for (const backendId of providerBackends.get(entry.slice(PROVIDER_ENTRY_PREFIX.length)) ?? []) {
      for (const target of table.backends.get(backendId) ?? []) {
        const info = byName.get(target.name);
        if (info && canDo(info.tasks, task)) out.push(target);
      }
    }
    return out;
  }
  const explicit = table.byName.get(entry) ?? table.aliases.get(entry);
  if (explicit) return [explicit];
  return [...(table.byModel.get(entry) ?? [])];
}

/** Precomputes `auto` routing from the configuration, its routing table and the model catalog. */
export function buildAutoRouting(config: Pick<OptimizerConfig, 'backends' | 'routing'>, table: RoutingTable, catalog: ModelCatalog): AutoRouting {
  const targets: AutoTarget[] = [];
  const byName = new Map<string, AutoTarget>();
  for (const target of table.byName.values()) {
    const info = catalog.infoOf(target.backendId, target.model);
    const auto: AutoTarget = {
      target,
      order: targets.length,
      contextWindow: info.contextWindow,
      blendedPricePerMTok: info.price ? blendedPrice(info.price.inputPerMTok, info.price.outputPerMTok) : undefined,
      tasks: info.tasks,
    };
    targets.push(auto);
    byName.set(target.name, auto);
  }
  const providerBackends = new Map<string, string[]>();
  for (const backend of config.backends) {
    const ids = providerBackends.get(backend.provider);
    if (ids) ids.push(backend.id);
    else providerBackends.set(backend.provider, [backend.id]);
  }

  const eligible = {} as Record<TaskClass, AutoTarget[]>;
  const fit = {} as Record<TaskClass, Map<string, number>>;
  for (const task of TASK_CLASSES) {
    const entries = [...(task === 'general' && config.routing.defaultModel ? [config.routing.defaultModel] : []), ...config.routing.tasks[task]];
    const listed = new Map<string, number>(); // name → position among the entries that named something
    let positions = 0;
    for (const entry of entries) {
      const named = expandEntry(entry, task, table, providerBackends, byName).filter((t) => !listed.has(t.name));
      if (named.length === 0) continue;
      for (const target of named) listed.set(target.name, positions);
      positions++;
    }
    const fits = new Map<string, number>();
    const pool: AutoTarget[] = [];
    for (const auto of targets) {
      const position = listed.get(auto.target.name);
      // A model the operator listed may serve the task whatever the catalog says of it.
      if (position === undefined && !canDo(auto.tasks, task)) continue;
      const strong = auto.tasks.includes(task);
      const value =
        position === undefined
          ? UNLISTED_BASE + (strong ? UNLISTED_STRONG : 0)
          : LISTED_BASE + (LISTED_SPAN * (positions - position)) / positions + (strong ? LISTED_STRONG : 0);
      fits.set(auto.target.name, Math.min(1, value));
      pool.push(auto);
    }
    eligible[task] = pool;
    fit[task] = fits;
  }

  let longPromptTokens = config.routing.longPromptTokens;
  if (!(longPromptTokens > 0)) {
    const windows = eligible.general.map((t) => t.contextWindow).filter((w): w is number => w !== undefined);
    longPromptTokens = windows.length > 0 ? Math.min(...windows) : FALLBACK_LONG_PROMPT_TOKENS;
  }
  return { eligible, fit, longPromptTokens, weights: config.routing.weights };
}

/** Output tokens a request reserves (`max_completion_tokens`, else `max_tokens`), 0 when it says nothing. */
function answerTokens(body: Readonly<Record<string, unknown>>): number {
  const asked = body['max_completion_tokens'] ?? body['max_tokens'];
  return typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? asked : 0;
}

/**
 * The plan for an `auto` request: classified, scored, every eligible model in order. Undefined
 * when no configured model can do the request's task (the caller takes the default route).
 */
export function planAutoRoute(auto: AutoRouting, request: ClassifyInput, health: HealthReader): RoutePlan | undefined {
  const classification = classifyRequest(request, auto.longPromptTokens);
  const { task } = classification;
  const pool = auto.eligible[task];
  if (pool.length === 0) return undefined;
  const needed = classification.promptTokens + answerTokens(request.body);
  const fits = auto.fit[task];
  const facts: CandidateFacts[] = pool.map((candidate) => {
    const backendId = candidate.target.backendId;
    return {
      target: candidate.target,
      order: candidate.order,
      fit: fits.get(candidate.target.name) ?? 0,
      fitsContext: candidate.contextWindow === undefined || needed <= candidate.contextWindow,
      availability: health.availability(backendId),
      quota: health.quota(backendId),
      latencyEwmaMs: health.latencyEwmaMs(backendId),
      blendedPricePerMTok: candidate.blendedPricePerMTok,
    };
  });
  const candidates = rankCandidates(facts, auto.weights).map((ranked) => ranked.target);
  const first = candidates[0];
  if (!first) return undefined;
  return { target: first, reason: `task:${task}`, candidates, task, promptTokens: classification.promptTokens };
}

/** What the router owns: the static table, and the precomputed `auto` routing when task routing is on. */
export interface RouterTables {
  table: RoutingTable;
  auto?: AutoRouting | undefined;
}

/**
 * The router's answer: `auto` (unpinned, with the request to classify) by task and score;
 * everything else, or an `auto` no model suits, by the static table (src/routing/table.ts).
 */
export function routeRequest(tables: RouterTables, query: RouteQuery, health: HealthReader = NO_HEALTH): RoutePlan {
  const request = query.request;
  if (request !== undefined && tables.auto !== undefined && query.pinnedBackend === undefined && isAutoModel(query.model)) {
    const plan = planAutoRoute(tables.auto, request, health);
    if (plan) return plan;
  }
  return planRoute(tables.table, query);
}
