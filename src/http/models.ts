import type { RoutingTable } from '../routing/table.js';

/** `GET /v1/models`: every configured `backend/model`, each alias, and `auto` (OpenAI's list shape). */
export function modelList(table: RoutingTable): { object: 'list'; data: { id: string; object: 'model'; created: number; owned_by: string }[] } {
  const data = [{ id: 'auto', object: 'model' as const, created: 0, owned_by: 'optimizer' }];
  for (const target of table.byName.values()) data.push({ id: target.name, object: 'model', created: 0, owned_by: target.backendId });
  for (const [alias, target] of table.aliases) data.push({ id: alias, object: 'model', created: 0, owned_by: target.backendId });
  return { object: 'list', data };
}
