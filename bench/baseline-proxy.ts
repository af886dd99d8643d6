/**
 * The bare pass-through the optimizer is compared against: a node:http server that forwards every
 * request to one upstream over a keep-alive undici `Pool` and pipes the answer back (streams too),
 * with no parsing, hashing, limits or actors. Whatever the optimizer costs beyond this row is the
 * price of its features.
 *
 *   node dist/bench/baseline-proxy.js --port N --upstream http://127.0.0.1:M/v1 [--connections N]
 *
 * Prints `{"event":"server.listening","port":N}` on stdout when ready; stops on SIGTERM/SIGINT.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

type DispatchController = Dispatcher.DispatchController;

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the ones the proxy sets itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      upstream: { type: 'string' },
      connections: { type: 'string', default: '128' },
    },
  });
  if (values.upstream === undefined) {
    process.stderr.write('baseline-proxy: --upstream URL is required\n');
    process.exit(2);
  }
  const upstream = new URL(values.upstream);
  const basePath = upstream.pathname.replace(/\/+$/, '');
  const connections = Number(values.connections);
  if (!Number.isInteger(connections) || connections < 1) {
    process.stderr.write(`baseline-proxy: --connections must be a positive integer, got ${values.connections}\n`);
    process.exit(2);
  }
  const pool = new Pool(upstream.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    if (url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    // `/v1/chat/completions` → `<upstream base path>/chat/completions`
    const path = basePath + (url.startsWith('/v1/') ? url.slice(3) : url);
    // Request bodies are small JSON: buffering them costs less than streaming them through undici.
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.once('end', () => forward(req, res, path, parts.length === 0 ? null : Buffer.concat(parts)));
  };

  const forward = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer | null): void => {
    // `dispatch` with a handler is undici's lowest-level API: no Readable per response, the
    // chunks go straight from the upstream socket to `res` (streams included, as they arrive).
    // A client that leaves (wrk stopping mid-request) must abort its upstream request, whether it
    // is still queued in the pool, waiting for headers, or paused: otherwise it holds a pooled
    // connection forever and the pool runs dry.
    let upstreamCall: DispatchController | undefined;
    let clientGone = false;
    const gone = new Error('client closed the connection');
    res.once('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      upstreamCall?.abort(gone);
    });
    pool.dispatch(
      {
        method: (req.method ?? 'GET') as 'GET',
        path,
        headers: forwardable(req.headers) as Record<string, string>,
        body,
      },
      {
        onRequestStart(controller) {
          upstreamCall = controller;
          if (clientGone) controller.abort(gone);
        },
        onResponseStart(controller, statusCode, headers) {
          if (clientGone) {
            controller.abort(gone);
            return;
          }
          res.writeHead(statusCode, forwardable(headers));
        },
        onResponseData(controller, chunk) {
          if (clientGone) return;
          // Backpressure: a slow client pauses the upstream read until it drains.
          if (!res.write(chunk)) {
            controller.pause();
            res.once('drain', () => controller.resume());
          }
        },
        onResponseEnd() {
          if (!clientGone) res.end();
        },
        onResponseError(_controller, err) {
          if (clientGone) return;
          if (res.headersSent) {
            res.destroy(err);
            return;
          }
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: err.message, type: 'upstream_error', code: 'bad_gateway' } }));
        },
      },
    );
  };

  const server = createServer({ noDelay: true, keepAliveTimeout: 30_000 }, handle);
  server.listen(Number(values.port), '127.0.0.1', () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    process.stdout.write(`${JSON.stringify({ event: 'server.listening', port })}\n`);
  });

  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    server.close();
    server.closeAllConnections();
    void pool.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
