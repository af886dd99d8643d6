import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseCache } from '../../src/cache/response-cache.js';
import { replayAnswer } from '../../src/cache/replay.js';
import { CACHE_ENTRY_VERSION } from '../../src/cache/types.js';
import type { ResponseMeta } from '../../src/gateway/types.js';
import { HttpResponder } from '../../src/http/http-responder.js';

const BODY = '{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}';
const meta: ResponseMeta = { requestId: 'req_1', backend: 'a', model: 'a/m', routeReason: 'model', cache: 'hit' };

/** A cache hit as the gateway replays it, counting how often its body is parsed. */
function hit(): { answer: ReturnType<typeof ResponseCache.toAnswer>; parses: () => number } {
  const answer = ResponseCache.toAnswer({
    v: CACHE_ENTRY_VERSION,
    createdAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    endpoint: 'chat.completions',
    model: 'a/m',
    backend: 'a',
    body: new TextEncoder().encode(BODY),
  });
  let parses = 0;
  // The lazy getter, wherever it is defined (the answer's prototype).
  let holder: object | null = answer;
  while (holder !== null && Object.getOwnPropertyDescriptor(holder, 'value') === undefined) holder = Object.getPrototypeOf(holder) as object | null;
  const lazy = Object.getOwnPropertyDescriptor(holder!, 'value')!.get!;
  Object.defineProperty(answer, 'value', {
    get() {
      parses++;
      return lazy.call(answer);
    },
  });
  return { answer, parses: () => parses };
}

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((_req, res) => {
    const { answer, parses } = hit();
    replayAnswer(answer, new HttpResponder(res, 'req_1'), meta, false, false);
    res.once('finish', () => server.emit('parses', parses()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('replaying a cache hit over HTTP', () => {
  it('sends the stored bytes as they are, without parsing them (a hit costs no JSON.parse)', async () => {
    const parsed = new Promise<number>((resolve) => server.once('parses', resolve));
    const { status, headers, text } = await new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      request({ port, host: '127.0.0.1', path: '/' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
    expect(headers['x-cache']).toBe('hit');
    expect(text).toBe(BODY);
    expect(await parsed).toBe(0);
  });

  it('still parses when a reader needs the value (a synthesised stream)', () => {
    const { answer, parses } = hit();
    const chunks: unknown[] = [];
    replayAnswer(
      answer,
      {
        closed: false,
        json: () => undefined,
        streamStart: () => undefined,
        streamChunk: (_data, value) => chunks.push(value) > 0,
        waitDrain: () => Promise.resolve(),
        streamEnd: () => undefined,
        error: () => undefined,
      },
      meta,
      true,
      false,
    );
    expect(parses()).toBe(1);
    expect(chunks.length).toBeGreaterThan(0);
  });
});
