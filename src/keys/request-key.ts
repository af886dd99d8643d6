/**
 * The request key: which requests the cache and the dedupe window treat as the same.
 *
 * The key covers every field that can change the answer. It is built from a DENY list, not an
 * allow list: a field is left out only when we know it cannot change the answer, so a provider
 * extra we have never heard of is always in the key. A new field can cost a cache miss, never a
 * wrong hit.
 */
import type { Endpoint } from '../gateway/types.js';
import { CanonicalWriter } from './canonical.js';

/** Bumped whenever the key material changes shape, so old cache entries are simply missed. */
export const REQUEST_KEY_VERSION = 'v1';

/**
 * Top-level body fields left out of the key, each because it cannot change the answer's content
 * or form as the cache stores it (the complete, non-streamed answer):
 */
export const KEY_NEUTRAL_FIELDS: ReadonlySet<string> = new Set([
  // Replaced by the model after alias resolution (`RequestKeyInput.model`): `fast` and the
  // `backend/model` it names are the same request; an alias re-pointed elsewhere is a new one.
  'model',
  // Delivery only: a cached answer is replayed as a stream when the caller asks for one.
  'stream',
  // `include_usage` only adds the usage chunk, which the stored answer carries anyway;
  // `include_obfuscation` pads chunks. Neither changes the content.
  'stream_options',
  // End-user id for the provider's abuse monitoring (and our agent identity, which is not a
  // cache scope: the cache is shared by a tenant's agents).
  'user',
  // The successor of `user` for safety monitoring.
  'safety_identifier',
  // Tags for the provider's stored completions / dashboards.
  'metadata',
  // Whether the provider keeps the completion for evals and distillation.
  'store',
  // Latency and price class (auto/default/flex/priority); the same model answers. A cache hit is
  // faster than any tier. The answer's own `service_tier` field reports the producing tier.
  'service_tier',
  // Routing hint and retention for the provider's prompt-prefix cache: cost and latency only.
  'prompt_cache_key',
  'prompt_cache_retention',
]);

/** What identifies a request for the cache and the dedupe window. */
export interface RequestKeyInput {
  endpoint: Endpoint;
  /** The request body as the client sent it (parsed). Its `model` field is ignored: see `model`. */
  body: Readonly<Record<string, unknown>>;
  /** The model after alias resolution (`backendId/model`). */
  model: string;
  /** The tenant the cache is scoped to; `undefined` when no tenant scoping is configured. Two tenants never share a key. */
  tenant: string | undefined;
}

/**
 * The text the key hashes: the canonical JSON of `{ body, endpoint, model, tenant }` (the body
 * without `KEY_NEUTRAL_FIELDS`, `tenant` null when unscoped). Itself canonical JSON, for
 * debugging and for tests.
 */
export function requestKeyMaterial(input: RequestKeyInput): string {
  const writer = new CanonicalWriter();
  writeKeyMaterial(writer, input);
  return writer.text;
}

/** `v1:` + base64url(sha256(material)): 46 ASCII characters, usable as an LMDB key. */
export function hashKeyMaterial(material: string): string {
  const writer = new CanonicalWriter('sha256');
  writer.raw(material);
  return REQUEST_KEY_VERSION + ':' + writer.digest();
}

/**
 * The request key: `v1:` + base64url(sha256(requestKeyMaterial(input))), computed without
 * building the material as one string (see CanonicalWriter).
 */
export function requestKey(input: RequestKeyInput): string {
  const writer = new CanonicalWriter('sha256');
  writeKeyMaterial(writer, input);
  return REQUEST_KEY_VERSION + ':' + writer.digest();
}

function writeKeyMaterial(writer: CanonicalWriter, input: RequestKeyInput): void {
  writer.raw('{"body":');
  writer.object(input.body, KEY_NEUTRAL_FIELDS);
  writer.raw(',"endpoint":');
  writer.value(input.endpoint);
  writer.raw(',"model":');
  writer.value(input.model);
  writer.raw(',"tenant":');
  writer.value(input.tenant ?? null);
  writer.raw('}');
}

/**
 * Whether the request asks for a reproducible answer, which is what the cache stores by default
 * (DESIGN.md §2): temperature 0, or a seed, but not several choices sampled above temperature 0
 * (`n` > 1 at temperature > 0, including the default temperature of 1). Embeddings are
 * deterministic.
 */
export function isDeterministic(body: Readonly<Record<string, unknown>>, endpoint: Endpoint = 'chat.completions'): boolean {
  if (endpoint === 'embeddings') return true;
  const temperature = body['temperature'];
  if (temperature === 0) return true;
  // Absent or null: the provider's default, 1 for OpenAI-compatible APIs.
  const effectiveTemperature = temperature === undefined || temperature === null ? 1 : temperature;
  if (typeof effectiveTemperature !== 'number') return false;
  const seed = body['seed'];
  if (typeof seed !== 'number') return false;
  const n = body['n'];
  if (typeof n === 'number' && n > 1 && effectiveTemperature > 0) return false;
  return true;
}
