import { OptimizerError } from '../errors/registry.js';

/**
 * The error of a backend whose adapter cannot do what a request needs. Raised before any upstream
 * call; delivery skips to the next candidate, and answers with it only when no candidate can.
 */
export function capabilityUnsupported(backendId: string, provider: string, capability: string, param?: string): OptimizerError {
  return new OptimizerError('CAPABILITY_UNSUPPORTED', `Backend ${backendId} (${provider}) does not support ${capability}.`, {
    ...(param === undefined ? {} : { param }),
    details: { backend: backendId, capability },
  });
}
