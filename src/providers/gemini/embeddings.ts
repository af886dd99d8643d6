/**
 * OpenAI embeddings ↔ Gemini: one input → `:embedContent` (`{content:{parts:[{text}]}}` →
 * `{embedding:{values}}`), a list → `:batchEmbedContents` (`{requests:[…]}` → `{embeddings:[{values}]}`).
 * `dimensions` → `outputDimensionality`. The answer is in the format asked (`float`, or `base64` as
 * little-endian float32, as the openai client expects). Gemini reports no token counts: usage is 0.
 */
import { OptimizerError } from '../../errors/registry.js';
import type { Json } from '../adapter.js';
import { isObject } from '../json.js';
import { modelPath } from './request.js';

export function geminiEmbeddingCall(body: Json, model: string): { path: string; body: Json } {
  const input = body.input;
  const dims = typeof body.dimensions === 'number' ? { outputDimensionality: body.dimensions } : {};
  const content = (text: unknown) => ({ parts: [{ text: typeof text === 'string' ? text : JSON.stringify(text) }] });
  if (Array.isArray(input)) {
    const name = `models/${model.startsWith('models/') ? model.slice(7) : model}`;
    return { path: `/models/${modelPath(model)}:batchEmbedContents`, body: { requests: input.map((text) => ({ model: name, content: content(text), ...dims })) } };
  }
  return { path: `/models/${modelPath(model)}:embedContent`, body: { content: content(input), ...dims } };
}

export function openAIEmbeddings(value: Json, request: Json, model: string, backendId: string): Json {
  const vectors: unknown[] = Array.isArray(value.embeddings)
    ? value.embeddings.map((e: unknown) => (isObject(e) ? e.values : undefined))
    : [isObject(value.embedding) ? value.embedding.values : undefined];
  const base64 = request.encoding_format === 'base64';
  const data = vectors.map((values, index) => {
    if (!Array.isArray(values)) {
      throw new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${backendId} answered embeddings without values.`, { details: { backend: backendId } });
    }
    return { object: 'embedding', index, embedding: base64 ? float32Base64(values as number[]) : values };
  });
  return { object: 'list', data, model, usage: { prompt_tokens: 0, total_tokens: 0 } };
}

/** Little-endian float32 bytes as base64 (OpenAI's `encoding_format: "base64"`). */
export function float32Base64(values: readonly number[]): string {
  const buffer = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) buffer.writeFloatLE(values[i] ?? 0, i * 4);
  return buffer.toString('base64');
}
