/**
 * The model catalog: per model (and per backend serving it) its context window, its price per
 * million tokens and the tasks it is strong at. The router scores candidates with it
 * (src/routing/score.ts) and the metrics turn token counts into dollars with {@link priceOf} and
 * {@link costUsd}.
 *
 * Where each field comes from, first match wins, field by field:
 * 1. `catalog["<backendId>/<model>"]` in supervisor.config.json;
 * 2. `catalog["<model>"]`;
 * 3. prices only: 0 on a local provider (vllm, ollama, lmstudio: no per-call cost);
 * 4. the built-in table (src/providers/catalog-data.ts): the exact id, its last path segment, then
 *    the longest family prefix;
 * 5. tasks only: a guess from the id (`…embed…`, `bge-…` are embedding models), else `general`.
 */
import type { BackendConfig, CatalogEntry, OptimizerConfig, ProviderName, TaskClass } from '../config/types.js';
import { BUILTIN_CATALOG } from './catalog-data.js';
import { PROVIDER_PRESETS } from './presets.js';

/** USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/** What the catalog knows of one model as one backend serves it. */
export interface ModelInfo {
  /** Tokens (prompt + answer); undefined when unknown (never excluded for size then). */
  contextWindow: number | undefined;
  /** Undefined when no price is known. */
  price: ModelPrice | undefined;
  /** Where the price came from. */
  priceSource: 'config' | 'local' | 'builtin' | undefined;
  /** What the model is strong at (never empty). */
  tasks: readonly TaskClass[];
}

/** Ids that name embedding models when the catalog has no entry (nomic-embed-text, bge-m3, e5-large, m2-bert…). */
const EMBEDDING_ID = /(?:^|[^a-z])(?:embed|embedding|embeddings|bge|e5|gte|minilm|m2-bert|retrieval)(?:[^a-z]|$)/i;
const GENERAL_ONLY: readonly TaskClass[] = Object.freeze(['general']);
const EMBEDDINGS_ONLY: readonly TaskClass[] = Object.freeze(['embeddings']);
/** Characters that may end a family prefix inside a longer id. */
const FAMILY_BOUNDARY = new Set(['-', ':', '@', '.', '_']);
/** More distinct (backend, model) pairs than this are answered without being remembered. */
const MAX_REMEMBERED = 4096;

/** Reads the built-in table: exact id, last path segment, then the longest family prefix. */
export function builtinEntry(model: string): Readonly<CatalogEntry> | undefined {
  const id = model.toLowerCase();
  const exact = BUILTIN_CATALOG[id];
  if (exact) return exact;
  const slash = id.lastIndexOf('/');
  const last = slash >= 0 ? id.slice(slash + 1) : id;
  if (last !== id) {
    const bySegment = BUILTIN_CATALOG[last];
    if (bySegment) return bySegment;
  }
  let best: string | undefined;
  for (const key of Object.keys(BUILTIN_CATALOG)) {
    if (key.length >= last.length || !last.startsWith(key) || !FAMILY_BOUNDARY.has(last[key.length]!)) continue;
    if (best === undefined || key.length > best.length) best = key;
  }
  return best === undefined ? undefined : BUILTIN_CATALOG[best];
}

/** The catalog of one configuration: built-in defaults under the config's `catalog` entries. */
export class ModelCatalog {
  readonly #providers: ReadonlyMap<string, ProviderName>;
  readonly #overrides: Readonly<Record<string, CatalogEntry>>;
  readonly #known = new Map<string, ModelInfo>();

  constructor(backends: readonly Pick<BackendConfig, 'id' | 'provider'>[], overrides: Readonly<Record<string, CatalogEntry>> = {}) {
    this.#providers = new Map(backends.map((b) => [b.id, b.provider]));
    this.#overrides = overrides;
  }

  /** What is known of `model` on backend `backendId` (any backend id and model; unknown ones get defaults). */
  infoOf(backendId: string, model: string): ModelInfo {
    const key = `${backendId}\u0000${model}`;
    const known = this.#known.get(key);
    if (known) return known;
    const info = this.#compute(backendId, model);
    if (this.#known.size < MAX_REMEMBERED) this.#known.set(key, info);
    return info;
  }

  #compute(backendId: string, model: string): ModelInfo {
    const own = Object.hasOwn(this.#overrides, `${backendId}/${model}`) ? this.#overrides[`${backendId}/${model}`] : undefined;
    const bare = Object.hasOwn(this.#overrides, model) ? this.#overrides[model] : undefined;
    const builtin = builtinEntry(model);
    const provider = this.#providers.get(backendId);
    const local = provider !== undefined && PROVIDER_PRESETS[provider]?.local === true;

    let price: ModelPrice | undefined;
    let priceSource: ModelInfo['priceSource'];
    const configured = pricePart(own) ?? pricePart(bare);
    if (configured) {
      price = configured;
      priceSource = 'config';
    } else if (local) {
      price = { inputPerMTok: 0, outputPerMTok: 0 };
      priceSource = 'local';
    } else {
      price = pricePart(builtin);
      priceSource = price ? 'builtin' : undefined;
    }
    const tasks = own?.tasks ?? bare?.tasks ?? builtin?.tasks;
    return Object.freeze({
      contextWindow: own?.contextWindow ?? bare?.contextWindow ?? builtin?.contextWindow,
      price: price && Object.freeze(price),
      priceSource,
      tasks: tasks && tasks.length > 0 ? Object.freeze([...tasks]) : EMBEDDING_ID.test(model) ? EMBEDDINGS_ONLY : GENERAL_ONLY,
    });
  }
}

/**
 * A price from one entry: both parts when either is given (a missing part counts 0, as for an
 * embedding model's output), undefined when the entry gives neither.
 */
function pricePart(entry: Readonly<CatalogEntry> | undefined): ModelPrice | undefined {
  if (!entry || (entry.inputPerMTok === undefined && entry.outputPerMTok === undefined)) return undefined;
  return { inputPerMTok: entry.inputPerMTok ?? 0, outputPerMTok: entry.outputPerMTok ?? 0 };
}

/** The catalog of a loaded configuration. */
export function buildModelCatalog(config: Pick<OptimizerConfig, 'backends' | 'catalog'>): ModelCatalog {
  return new ModelCatalog(config.backends, config.catalog);
}

/** The price of `model` on `backendId`, or undefined when unknown. */
export function priceOf(catalog: ModelCatalog, backendId: string, model: string): ModelPrice | undefined {
  return catalog.infoOf(backendId, model).price;
}

/** What `tokensIn` prompt and `tokensOut` completion tokens cost at `price`, in USD (0 when the price is unknown). */
export function costUsd(price: ModelPrice | undefined, tokensIn: number, tokensOut: number): number {
  if (!price) return 0;
  return (tokensIn * price.inputPerMTok + tokensOut * price.outputPerMTok) / 1_000_000;
}

/**
 * What an upstream call cost, by the catalog in force (a getter: discovery rebuilds the catalog):
 * the metrics' cost function. Undefined when the model has no known price.
 */
export function catalogCost(catalog: () => ModelCatalog): (backendId: string, model: string, tokensIn: number, tokensOut: number) => number | undefined {
  return (backendId, model, tokensIn, tokensOut) => {
    const price = priceOf(catalog(), backendId, model);
    return price ? costUsd(price, tokensIn, tokensOut) : undefined;
  };
}
