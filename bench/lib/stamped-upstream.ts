/**
 * The project's loopback upstream (`src/loopback/main.ts`, same flags, same output) plus an arrival
 * stamp per request, for the failover benchmark (bench/failover.ts):
 *
 *   STAMP_FILE=/tmp/u1.stamps node dist/bench/lib/stamped-upstream.js --port N --latency-ms 20
 *
 * Every request's arrival (its headers parsed: Node's `http.server.request.start` diagnostics
 * channel, published just before the server's `request` event) is stamped on the wall clock with
 * sub-millisecond resolution (`performance.timeOrigin + performance.now()`), and once its body has
 * been read one line is appended to `STAMP_FILE`:
 *
 *   {"at":1764280000123.456,"tag":"<STAMP_PATTERN's first capture group or null>","method":"POST","path":"/v1/chat/completions"}
 *
 * Each line is written with one synchronous `write(2)` as soon as the body is complete, so a SIGKILL
 * loses no line of a request whose body had arrived. `STAMP_PATTERN` (a regular expression, default
 * `failover [0-9a-f]+ #(\d+)`) picks the request's tag out of the body.
 */
import { channel } from 'node:diagnostics_channel';
import { openSync, writeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';

const file = process.env['STAMP_FILE'];
if (file === undefined || file === '') {
  process.stderr.write(JSON.stringify({ event: 'upstream.failed', message: 'STAMP_FILE is not set' }) + '\n');
  process.exit(2);
}
const pattern = new RegExp(process.env['STAMP_PATTERN'] ?? 'failover [0-9a-f]+ #(\\d+)');
const fd = openSync(file, 'a');

channel('http.server.request.start').subscribe((message) => {
  const at = performance.timeOrigin + performance.now();
  const req = (message as { request: IncomingMessage }).request;
  let body = '';
  // The upstream's own handler also listens to 'data' (attached in the same tick, before any chunk
  // is emitted), so both see every chunk.
  req.on('data', (chunk: Buffer) => {
    if (body.length < 4096) body += chunk.toString('utf8');
  });
  req.on('end', () => {
    const tag = pattern.exec(body)?.[1] ?? null;
    const line = JSON.stringify({ at: Math.round(at * 1000) / 1000, tag, method: req.method, path: req.url }) + '\n';
    try {
      writeSync(fd, line);
    } catch {
      // a full disk must not break the upstream
    }
  });
});

// Imported only now, so that no request can arrive before the subscription above.
await import('../../src/loopback/main.js');
