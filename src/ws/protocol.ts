import { pack, unpack } from 'msgpackr';
import { OptimizerError } from '../errors/registry.js';
import type { Endpoint, RequestHints } from '../gateway/types.js';

/**
 * The WebSocket protocol of `/v1/ws` (docs/websocket.md). JSON text frames or msgpack
 * binary frames, the same messages either way; the server answers each request in the
 * encoding the request came in.
 */

export const PROTOCOL_VERSION = 1;

export type ClientFrame =
  | { type: 'hello'; agentId?: string; key?: string; agentType?: string; tenant?: string; adminKey?: string }
  | { type: 'request'; id: string; endpoint: Endpoint; params: Record<string, unknown>; hints: RequestHints }
  | { type: 'cancel'; id: string }
  | { type: 'ping'; ts?: unknown }
  | { type: 'subscribe'; topics: string[] }
  | { type: 'unsubscribe'; topics: string[] };

export type Encoding = 'json' | 'msgpack';

const ENDPOINTS: ReadonlySet<string> = new Set(['chat.completions', 'embeddings']);
const MAX_ID_LENGTH = 128;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string, id?: string): OptimizerError {
  return new OptimizerError('INVALID_FRAME', message, id === undefined ? {} : { details: { id } });
}

function optionalString(frame: Record<string, unknown>, field: string): string | undefined {
  const value = frame[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw bad(`'${field}' must be a string.`);
  return value;
}

function requestId(frame: Record<string, unknown>): string {
  const id = frame.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) throw bad(`'id' must be a string of 1-${MAX_ID_LENGTH} characters.`);
  return id;
}

function hints(value: unknown, id: string): RequestHints {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw bad("'hints' must be an object.", id);
  const result: RequestHints = {};
  if (typeof value.backend === 'string') result.backend = value.backend;
  if (typeof value.taskType === 'string') result.taskType = value.taskType;
  if (typeof value.priority === 'number' && Number.isFinite(value.priority)) result.priority = value.priority;
  if (typeof value.cacheControl === 'string') result.cacheControl = value.cacheControl;
  return result;
}

function topics(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 128)) {
    throw bad("'topics' must be a non-empty array of topic patterns such as 'breaker.*'.");
  }
  return value as string[];
}

/** Decodes and checks one client message. Throws INVALID_FRAME (with the request id when it could be read). */
export function decodeFrame(data: Buffer, binary: boolean): ClientFrame {
  let frame: unknown;
  try {
    frame = binary ? unpack(data) : JSON.parse(data.toString('utf8'));
  } catch {
    throw bad(binary ? 'The binary frame is not valid msgpack.' : 'The text frame is not valid JSON.');
  }
  if (!isRecord(frame)) throw bad('A frame must be an object with a `type`.');
  switch (frame.type) {
    case 'hello': {
      const hello: ClientFrame = { type: 'hello' };
      const agentId = optionalString(frame, 'agentId');
      const key = optionalString(frame, 'key');
      const agentType = optionalString(frame, 'agentType');
      const tenant = optionalString(frame, 'tenant');
      if (tenant !== undefined) hello.tenant = tenant;
      if (agentId !== undefined) hello.agentId = agentId;
      if (key !== undefined) hello.key = key;
      if (agentType !== undefined) hello.agentType = agentType;
      const adminKey = optionalString(frame, 'adminKey');
      if (adminKey !== undefined) hello.adminKey = adminKey;
      return hello;
    }
    case 'request': {
      const id = requestId(frame);
      const endpoint = frame.endpoint ?? 'chat.completions';
      if (typeof endpoint !== 'string' || !ENDPOINTS.has(endpoint)) throw bad(`'endpoint' must be one of ${[...ENDPOINTS].join(', ')}.`, id);
      if (!isRecord(frame.params)) throw bad("'params' must be an object (the OpenAI request body).", id);
      return { type: 'request', id, endpoint: endpoint as Endpoint, params: frame.params, hints: hints(frame.hints, id) };
    }
    case 'cancel':
      return { type: 'cancel', id: requestId(frame) };
    case 'ping':
      return { type: 'ping', ts: frame.ts };
    case 'subscribe':
      return { type: 'subscribe', topics: topics(frame.topics) };
    case 'unsubscribe':
      return { type: 'unsubscribe', topics: topics(frame.topics) };
    default:
      throw bad(`Unknown frame type ${JSON.stringify(frame.type)}: expected hello, request, cancel, ping, subscribe or unsubscribe.`);
  }
}

/** Encodes a server message. */
export function encodeFrame(frame: Record<string, unknown>, encoding: Encoding): string | Buffer {
  return encoding === 'msgpack' ? pack(frame) : JSON.stringify(frame);
}
