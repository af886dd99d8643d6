/**
 * "What models does this backend serve?" in each provider's dialect, answered in OpenAI's list
 * shape (`GET /admin/backends/:id/models`). Each adapter names the call (`listModels`) and
 * normalises the answer (`modelList`) with the readers here:
 * - OpenAI-compatible: `GET {base}/models`, already `{object:"list",data:[…]}` (kept as it came:
 *   vLLM's `max_model_len` and the like stay);
 * - Anthropic: `GET /v1/models?limit=1000` → `{data:[{type:"model",id,display_name,created_at}],has_more,…}`;
 * - Gemini: `GET /models?pageSize=1000` → `{models:[{name:"models/gemini-…",displayName,inputTokenLimit,…}]}`;
 * - Ollama native: `GET /api/tags` → `{models:[{name,model,modified_at,size,digest}]}`.
 */
import type { Json } from './adapter.js';
import { isObject } from './json.js';

/** One model in OpenAI's list shape (plus what the provider told about it that OpenAI also names). */
export interface ListedModel {
  id: string;
  object: 'model';
  owned_by: string;
  created?: number;
  [extra: string]: unknown;
}

export interface ModelList {
  object: 'list';
  data: ListedModel[];
}

/** The upstream call that lists a backend's models (below its base URL). */
export interface ModelListCall {
  method: 'GET';
  path: string;
}

const epochSeconds = (text: unknown): number | undefined => {
  if (typeof text !== 'string') return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
};

const listOf = (value: unknown, field: string): Json[] => (isObject(value) && Array.isArray(value[field]) ? value[field].filter(isObject) : []);

/** OpenAI's own list, as the provider sent it (entries without a string id left out). */
export function openAIModelList(value: unknown, ownedBy: string): ModelList {
  const data = listOf(value, 'data')
    .filter((m) => typeof m.id === 'string')
    .map((m) => ({ ...m, id: m.id as string, object: 'model' as const, owned_by: typeof m.owned_by === 'string' ? m.owned_by : ownedBy }));
  return { object: 'list', data };
}

export function anthropicModelList(value: unknown): ModelList {
  const data = listOf(value, 'data')
    .filter((m) => typeof m.id === 'string')
    .map((m) => {
      const model: ListedModel = { id: m.id as string, object: 'model', owned_by: 'anthropic' };
      const created = epochSeconds(m.created_at);
      if (created !== undefined) model.created = created;
      if (typeof m.display_name === 'string') model.display_name = m.display_name;
      return model;
    });
  return { object: 'list', data };
}

export function geminiModelList(value: unknown): ModelList {
  const data = listOf(value, 'models')
    .filter((m) => typeof m.name === 'string')
    .map((m) => {
      const name = m.name as string;
      const model: ListedModel = { id: name.startsWith('models/') ? name.slice(7) : name, object: 'model', owned_by: 'google' };
      if (typeof m.displayName === 'string') model.display_name = m.displayName;
      if (typeof m.inputTokenLimit === 'number') model.context_window = m.inputTokenLimit;
      return model;
    });
  return { object: 'list', data };
}

export function ollamaModelList(value: unknown): ModelList {
  const data = listOf(value, 'models')
    .map((m) => ({ m, id: typeof m.model === 'string' ? m.model : m.name }))
    .filter((x): x is { m: Json; id: string } => typeof x.id === 'string')
    .map(({ m, id }) => {
      const model: ListedModel = { id, object: 'model', owned_by: 'ollama' };
      const created = epochSeconds(m.modified_at);
      if (created !== undefined) model.created = created;
      return model;
    });
  return { object: 'list', data };
}
