import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callBackend } from '../../actors/backend.js';
import type { OptimizerSystem } from '../../actors/system.js';
import { CancelSignal, type Cancellation, type CancelListener } from '../../src/gateway/cancel-signal.js';
import { readAll } from '../../src/upstream/body.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

/**
 * The backend transport's calls on undici's `dispatch` (actors/backend-transport.ts), against a raw
 * node:http backend that the test steers: it holds requests, sends bodies in pieces and watches
 * its connections close.
 */
interface Held {
  req: IncomingMessage;
  res: ServerResponse;
  closed: boolean;
}

describe('backend transport: calls, bodies and cancellation', () => {
  let stack: Stack;
  let server: Server;
  let system: OptimizerSystem;
  const held: Held[] = [];
  let onRequest: (entry: Held) => void = () => undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const entry: Held = { req, res, closed: false };
      res.on('close', () => {
        entry.closed = true;
      });
      held.push(entry);
      req.resume();
      req.on('end', () => onRequest(entry));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    stack = await startStack({
      extraBackends: [
        {
          id: 'raw',
          provider: 'openai-compatible',
          baseUrl: `http://127.0.0.1:${port}/v1`,
          models: ['m'],
          connections: 1,
          timeouts: { connectMs: 2000, headersMs: 5000, bodyIdleMs: 5000 },
        },
      ],
    });
    system = stack.optimizer.root.system as OptimizerSystem;
  });

  afterEach(() => {
    for (const entry of held.splice(0)) if (!entry.closed) entry.res.destroy();
    onRequest = () => undefined;
  });

  afterAll(async () => {
    await stack.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const call = (signal?: Cancellation) => callBackend(system, 'raw', { method: 'POST', path: '/chat/completions', body: '{}', signal, stream: false });

  it('answers with the status, the headers and the whole body', async () => {
    onRequest = ({ res }) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '41' });
      res.write('{"id":');
      setTimeout(() => res.end('"x"}'), 5);
    };
    const upstream = await call();
    expect(upstream.status).toBe(200);
    expect(upstream.headers['x-ratelimit-remaining-requests']).toBe('41');
    expect(upstream.backendId).toBe('raw');
    expect((await readAll(upstream.body)).toString()).toBe('{"id":"x"}');
  });

  it('keeps a large answer nobody reads yet, and hands all of it over when read', async () => {
    const big = Buffer.alloc(1024 * 1024, 'a');
    onRequest = ({ res }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(big);
    };
    const upstream = await call();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the body arrives (and is held, the socket paused)
    const body = await readAll(upstream.body);
    expect(body.length).toBe(big.length);
    expect(body.equals(big)).toBe(true);
  });

  it('a call cancelled while it waits for the pool’s only connection fails at once and is never sent', async () => {
    onRequest = () => undefined; // the first call holds the connection
    const first = call();
    await eventually(() => held.length === 1, 3000, 'the first call reached the backend');
    const signal = new CancelSignal();
    const second = call(signal);
    signal.abort();
    await expect(second).rejects.toMatchObject({ code: 'CANCELLED' });
    held[0]!.res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const answered = await first;
    expect((await readAll(answered.body)).toString()).toBe('{}');
    // The connection went on to the next call, not to the cancelled one.
    onRequest = ({ res }) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"n":3}');
    const third = await call();
    expect((await readAll(third.body)).toString()).toBe('{"n":3}');
    expect(held).toHaveLength(2);
  });

  it('a call whose signal aborted before it was sent fails at once and is never sent', async () => {
    const signal = new CancelSignal();
    signal.abort();
    await expect(call(signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(held).toHaveLength(0);
  });

  it('cancelling in the middle of the body aborts the backend’s connection and fails the reader', async () => {
    onRequest = ({ res }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    };
    const signal = new CancelSignal();
    const upstream = await call(signal);
    const all = readAll(upstream.body);
    signal.abort();
    await expect(all).rejects.toMatchObject({ name: 'AbortError' });
    await eventually(() => held[0]!.closed, 3000, 'the backend saw its connection close');
  });

  it('destroying a body aborts the call: the backend sees its connection close', async () => {
    onRequest = ({ res }) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {}\n\n');
    };
    const upstream = await call();
    await new Promise<void>((resolve) => upstream.body.read({ data: () => resolve(), end() {}, error() {} }));
    upstream.body.destroy();
    await eventually(() => held[0]!.closed, 3000, 'the backend saw its connection close');
  });

  it('lets go of the signal’s listener once the call is over', async () => {
    const listeners = new Set<CancelListener>();
    const signal: Cancellation = {
      aborted: false,
      reason: undefined,
      addEventListener: (_type, listener) => listeners.add(listener),
      removeEventListener: (_type, listener) => listeners.delete(listener),
    };
    onRequest = ({ res }) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const upstream = await call(signal);
    await readAll(upstream.body);
    expect(listeners.size).toBe(0);

    onRequest = ({ res }) => res.destroy(); // a failed call lets go too
    await expect(call(signal)).rejects.toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
    expect(listeners.size).toBe(0);
  });
});
