/** Small readers for loosely typed JSON, shared by the adapters. */
import { OptimizerError } from '../errors/registry.js';
import type { Json } from './adapter.js';

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One stream event's (or NDJSON line's) data parsed as JSON, or UPSTREAM_BAD_RESPONSE naming the
 * backend: what every stream translator does first.
 */
export function parseStreamData(data: string, backendId: string, unit: 'event' | 'line' = 'event'): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new OptimizerError('UPSTREAM_BAD_RESPONSE', `Backend ${backendId} sent a stream ${unit} that is not JSON.`, { details: { backend: backendId } });
  }
}

/** A message `content` as text: a string, or the `text` of its text parts joined by `\n`. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const part of content) if (isObject(part) && typeof part.text === 'string') texts.push(part.text);
  return texts.join('\n');
}

/** Parses a tool call's `arguments` string into an object (`{}` when empty; the raw text kept under `_raw` when it is not JSON). */
export function parseArguments(text: unknown): Json {
  if (isObject(text)) return text;
  if (typeof text !== 'string' || text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : { value };
  } catch {
    return { _raw: text };
  }
}

/** The `image_url` of a content part as `{ mediaType, data }` when it is a base64 data URL, else `{ url }`. */
export function imageSource(part: Json): { mediaType: string; data: string } | { url: string } | undefined {
  const image = part.image_url;
  const url = typeof image === 'string' ? image : isObject(image) && typeof image.url === 'string' ? image.url : undefined;
  if (url === undefined) return undefined;
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mediaType: match[1]!, data: match[2]! } : { url };
}

/** `stop` (a string or a list) as a list. */
export function stopList(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop)) {
    const list = stop.filter((s): s is string => typeof s === 'string');
    return list.length > 0 ? list : undefined;
  }
  return undefined;
}

/** Whether the client asked for the usage chunk of a stream. */
export function wantsUsage(body: Json): boolean {
  return isObject(body.stream_options) && body.stream_options.include_usage === true;
}
