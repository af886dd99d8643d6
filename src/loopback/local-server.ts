/**
 * The common part of the loopback local servers (vLLM, Ollama): an HTTP server on 127.0.0.1 that
 * answers its own paths (`/health`, `/metrics`, `/api/tags`, `/v1/models`, ...) and passes
 * `POST /v1/chat/completions` and `POST /v1/embeddings` to an inner OpenAI loopback
 * (src/loopback/openai-upstream.ts), whose scripted behaviours (errors, resets, slow answers)
 * therefore apply. Cloud-only headers (`x-ratelimit-*`) are dropped on the way back, as a
 * local server sends none.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { startOpenAIUpstream, type OpenAIUpstream, type UpstreamOptions } from './openai-upstream.js';

/** Answers a request on the server's own paths; returns false to pass it on (or 404). */
export type OwnRoutes = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export interface LocalServer {
  /** The server root, e.g. `http://127.0.0.1:41234` (what `discovery.local[].baseUrl` takes). */
  readonly url: string;
  readonly port: number;
  /** The inner OpenAI loopback that answers the completions (script failures on it). */
  readonly inner: OpenAIUpstream;
  close(): Promise<void>;
}

export interface LocalServerHooks {
  /** A completion arrived; return false to keep it (the hook answers it later itself). */
  onCompletion?: (req: IncomingMessage, res: ServerResponse, forward: () => void) => void;
}

const FORWARDED = new Set(['/v1/chat/completions', '/v1/embeddings']);

export async function startLocalServer(
  own: OwnRoutes,
  options: { port?: number; inner?: UpstreamOptions; hooks?: LocalServerHooks } = {},
): Promise<LocalServer> {
  const inner = await startOpenAIUpstream(options.inner ?? {});
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      { host: '127.0.0.1', port: inner.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !name.startsWith('x-ratelimit-')) headers[name] = value;
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        // An inner reset (behaviour `reset`) is a reset here too.
        answer.on('aborted', () => res.destroy());
      },
    );
    upstream.on('error', () => req.socket.resetAndDestroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (req.method === 'POST' && FORWARDED.has(path)) {
      if (options.hooks?.onCompletion) options.hooks.onCompletion(req, res, () => forward(req, res));
      else forward(req, res);
      return;
    }
    req.resume();
    if (own(req, res, path)) return;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ detail: 'Not Found' }));
  });
  server.keepAliveTimeout = 65_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    inner,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
        await inner.close();
      })();
      return closing;
    },
  };
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
