/** Reading benchmark settings from env vars, with the variable's name in every error. */

/** A number from `name`, `dflt` when unset, within [min, max]. */
export function envNum(name: string, dflt: number, min: number, max = Number.POSITIVE_INFINITY): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${name} must be a number in [${min}, ${max}], got "${raw}"`);
  return v;
}

/** An integer from `name`, `dflt` when unset, within [min, max]. */
export function envInt(name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = envNum(name, dflt, min, max);
  if (!Number.isInteger(v)) throw new Error(`${name} must be an integer, got "${v}"`);
  return v;
}
