import type { Discovery } from './discovery.js';

/**
 * The start log line about backends: which are usable, which are disabled (and the env var to set),
 * which local ones do not answer; when none is usable, what to set or start (the same words as
 * /health and the NO_BACKEND_REACHABLE error).
 */
export function startupSummary(discovery: Discovery): { message: string; fields: Record<string, unknown> } {
  const { availability } = discovery;
  const usable: string[] = [];
  const disabled: string[] = [];
  const down: string[] = [];
  for (const id of availability.backendIds) {
    if (availability.disabledReason(id) !== undefined) disabled.push(id);
    else if (availability.unusableReason(id) !== undefined) down.push(id);
    else usable.push(id);
  }
  const fields = { usable, disabled, unreachable: down };
  if (!availability.anyUsable) {
    return {
      message: `${availability.nothingReachableMessage()} — the optimizer runs, /health says "degraded" and requests get 503 NO_BACKEND_REACHABLE until one is`,
      fields,
    };
  }
  const parts = [`backends usable: ${usable.join(', ')}`];
  if (disabled.length > 0) parts.push(`disabled (no key): ${disabled.join(', ')}`);
  if (down.length > 0) parts.push(`not answering: ${down.join(', ')}`);
  return { message: parts.join('; '), fields };
}
