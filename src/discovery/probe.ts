/**
 * One probe of one local server: is it there, is it healthy, what does it serve. Each request is
 * bounded by `timeoutMs` and never retried (the next round is the retry), so a round costs at
 * most a few cheap GETs per server.
 *
 * - Ollama: `GET /api/tags` (its model list); `GET /v1/models` when /api/tags is missing.
 * - vLLM: `GET /health` (200 healthy, 503 engine dead), then `GET /v1/models` (ids and
 *   `max_model_len`) and `GET /metrics` (load gauges; optional).
 * - LM Studio: `GET /v1/models`.
 */
import type { Dispatcher } from 'undici';
import { request } from '../upstream/undici.js';
import type { LocalProvider } from '../config/types.js';
import { vllmMetrics, type VllmMetrics } from './prometheus.js';

/** A model a server lists. */
export interface DiscoveredModel {
  id: string;
  /** vLLM's `max_model_len`: the context window in tokens. */
  maxModelLen?: number;
}

export type ProbeResult =
  /** Answering and healthy; `models` is what it lists now. */
  | { state: 'reachable'; models: DiscoveredModel[]; metrics?: VllmMetrics }
  /** Answering, but says it cannot serve (vLLM's /health 503, a refused key, a broken model list). */
  | { state: 'unhealthy'; reason: string }
  /** Not answering at all (refused, timed out, not HTTP). */
  | { state: 'unreachable'; reason: string };

export interface ProbeOptions {
  timeoutMs: number;
  /** The undici dispatcher probes share (keep-alive to servers probed every round). */
  dispatcher: Dispatcher;
  /** Sent as `Authorization: Bearer` (vLLM started with --api-key, Ollama Cloud). */
  apiKey?: string | undefined;
}

/** Largest probe answer read; a model list or vLLM's /metrics is far smaller. */
const MAX_PROBE_BODY_BYTES = 4 * 1024 * 1024;

/** Probes the server at `root` (no trailing `/v1`). Never throws. */
export async function probeServer(provider: LocalProvider, root: string, options: ProbeOptions): Promise<ProbeResult> {
  try {
    switch (provider) {
      case 'vllm':
        return await probeVllm(root, options);
      case 'ollama':
        return await probeOllama(root, options);
      case 'lmstudio':
        return await probeOpenAIModels(root, options);
    }
  } catch (error) {
    return { state: 'unreachable', reason: describeFailure(error, options.timeoutMs) };
  }
}

async function probeVllm(root: string, options: ProbeOptions): Promise<ProbeResult> {
  const health = await get(`${root}/health`, options);
  if (health.status !== 200) {
    return {
      state: 'unhealthy',
      reason: health.status === 503 ? 'its /health answers 503 (the engine is dead or still loading)' : `its /health answers ${health.status}`,
    };
  }
  const [models, metrics] = await Promise.all([probeOpenAIModels(root, options), get(`${root}/metrics`, options).catch(() => undefined)]);
  if (models.state !== 'reachable') return models;
  return metrics?.status === 200 ? { ...models, metrics: vllmMetrics(metrics.text) } : models;
}

async function probeOllama(root: string, options: ProbeOptions): Promise<ProbeResult> {
  const tags = await get(`${root}/api/tags`, options);
  if (tags.status === 404) return probeOpenAIModels(root, options);
  if (tags.status !== 200) return { state: 'unhealthy', reason: `its /api/tags answers ${tags.status}` };
  const body = parseJson(tags.text) as { models?: unknown } | undefined;
  if (!body || !Array.isArray(body.models)) return { state: 'unhealthy', reason: 'its /api/tags answer is not a model list' };
  const models: DiscoveredModel[] = [];
  for (const entry of body.models as unknown[]) {
    const name = (entry as { name?: unknown; model?: unknown } | null)?.name ?? (entry as { model?: unknown } | null)?.model;
    if (typeof name === 'string' && name !== '') models.push({ id: name });
  }
  return { state: 'reachable', models };
}

/** `GET /v1/models` in OpenAI's list shape (vLLM adds `max_model_len`). */
async function probeOpenAIModels(root: string, options: ProbeOptions): Promise<ProbeResult> {
  const answer = await get(`${root}/v1/models`, options);
  if (answer.status === 401 || answer.status === 403) {
    return { state: 'unhealthy', reason: `its /v1/models refuses the key (${answer.status}): set the backend's apiKeyEnv (VLLM_API_KEY for vLLM) to the server's --api-key` };
  }
  if (answer.status !== 200) return { state: 'unhealthy', reason: `its /v1/models answers ${answer.status}` };
  const body = parseJson(answer.text) as { data?: unknown } | undefined;
  if (!body || !Array.isArray(body.data)) return { state: 'unhealthy', reason: 'its /v1/models answer is not a model list' };
  const models: DiscoveredModel[] = [];
  for (const entry of body.data as unknown[]) {
    const { id, max_model_len: maxModelLen } = (entry ?? {}) as { id?: unknown; max_model_len?: unknown };
    if (typeof id !== 'string' || id === '') continue;
    models.push(typeof maxModelLen === 'number' && Number.isInteger(maxModelLen) && maxModelLen > 0 ? { id, maxModelLen } : { id });
  }
  return { state: 'reachable', models };
}

async function get(url: string, options: ProbeOptions): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { accept: 'application/json, text/plain' };
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  const signal = AbortSignal.timeout(options.timeoutMs);
  const response = await request(url, {
    method: 'GET',
    headers,
    signal,
    dispatcher: options.dispatcher,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PROBE_BODY_BYTES) {
      response.body.destroy();
      throw new Error(`its answer to ${new URL(url).pathname} is larger than ${MAX_PROBE_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return { status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Why a probe got no answer, in a few words (no URL: the caller names the server). */
function describeFailure(error: unknown, timeoutMs: number): string {
  const e = (error ?? {}) as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (e.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `no answer within ${timeoutMs} ms`;
  }
  if (code !== undefined) return `${code}${e.message ? `: ${e.message}` : ''}`;
  return e.message ?? String(error);
}
