/**
 * A minimal OpenAI-format upstream with the same CLI and listening line as the project's loopback
 * upstream (`src/loopback/main.ts`). The benchmark uses the real loopback; this stand-in exists so
 * the harness can be checked on its own (`BENCH_UPSTREAM=stub`) and is used, with a warning, when
 * the loopback has not been built.
 *
 *   node dist/bench/stub-upstream.js --port N [--latency-ms N] [--chunks N]
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'latency-ms': { type: 'string', default: '0' },
      chunks: { type: 'string', default: '3' },
    },
  });
  const latencyMs = Number(values['latency-ms']);
  const chunks = Math.max(1, Number(values.chunks));
  let seq = 0;

  const answer = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const id = `chatcmpl-stub-${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    if (req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'test-model', object: 'model', owned_by: 'stub' }] }));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', code: 'not_found' } }));
      return;
    }
    let body: { model?: unknown; stream?: unknown };
    try {
      body = JSON.parse(raw) as { model?: unknown; stream?: unknown };
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'bad json', type: 'invalid_request_error', code: 'bad_json' } }));
      return;
    }
    const model = typeof body.model === 'string' ? body.model : 'test-model';
    if (body.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (let i = 0; i < chunks; i++) {
        const delta = i === 0 ? { role: 'assistant', content: 'ok' } : { content: ` ${i}` };
        const chunk = { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: null }] };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }
      const last = { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
      res.end(`data: ${JSON.stringify(last)}\n\ndata: [DONE]\n\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
      }),
    );
  };

  const server = createServer({ noDelay: true, keepAliveTimeout: 30_000 }, (req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.once('end', () => {
      if (latencyMs > 0) setTimeout(() => answer(req, res, raw), latencyMs);
      else answer(req, res, raw);
    });
  });
  server.listen(Number(values.port), '127.0.0.1', () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    process.stdout.write(`${JSON.stringify({ event: 'upstream.listening', port, url: `http://127.0.0.1:${port}/v1` })}\n`);
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
