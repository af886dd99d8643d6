import type { Discovery } from '../discovery/discovery.js';
import type { RouteTarget, RoutingTable } from '../routing/table.js';

interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** The context window in tokens, when the backend said (vLLM's own field name). */
  max_model_len?: number;
}

/**
 * `GET /v1/models` (OpenAI's list shape): `auto`, every `backend/model` and alias that can be
 * answered now. With discovery, a disabled (no key) or unreachable backend's models are left out,
 * and a probed server's only when it lists them; `/admin/backends` and `/health` say why.
 */
export function modelList(table: RoutingTable, discovery?: Pick<Discovery, 'listable' | 'contextWindow'>): { object: 'list'; data: ModelEntry[] } {
  const data: ModelEntry[] = [{ id: 'auto', object: 'model', created: 0, owned_by: 'optimizer' }];
  const entry = (id: string, target: RouteTarget): ModelEntry => {
    const model: ModelEntry = { id, object: 'model', created: 0, owned_by: target.backendId };
    const window = discovery?.contextWindow(target.backendId, target.model);
    if (window !== undefined) model.max_model_len = window;
    return model;
  };
  for (const target of table.byName.values()) if (!discovery || discovery.listable(target)) data.push(entry(target.name, target));
  for (const [alias, target] of table.aliases) if (!discovery || discovery.listable(target)) data.push(entry(alias, target));
  return { object: 'list', data };
}
