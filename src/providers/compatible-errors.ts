/**
 * Error answers of the OpenAI-compatible family: the shared mapper (src/upstream/http-error.ts)
 * reads every body shape; what one provider means differently is decided here first.
 * - OpenRouter: a 403 whose `error.metadata.reasons` lists moderation flags is the caller's input
 *   being refused (passed to the client as 403 UPSTREAM_REJECTED, not retried or failed over),
 *   not the optimizer's key.
 */
import type { ProviderName } from '../config/types.js';
import { OptimizerError } from '../errors/registry.js';
import { upstreamErrorMessage, upstreamHttpError } from '../upstream/http-error.js';
import { isObject } from './json.js';

export function compatibleHttpError(
  provider: ProviderName,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  backendId: string,
): OptimizerError {
  if (provider === 'openrouter' && status === 403 && openRouterModeration(text)) {
    const message = upstreamErrorMessage(text) ?? 'flagged by moderation';
    return new OptimizerError('UPSTREAM_REJECTED', `Backend ${backendId} rejected the request: ${message}`, { status: 403, details: { backend: backendId, upstreamStatus: status } });
  }
  return upstreamHttpError(status, headers, text, backendId);
}

function openRouterModeration(text: string): boolean {
  try {
    const body: unknown = JSON.parse(text);
    const error = isObject(body) ? body.error : undefined;
    const metadata = isObject(error) ? error.metadata : undefined;
    return isObject(metadata) && Array.isArray(metadata.reasons);
  } catch {
    return false;
  }
}
