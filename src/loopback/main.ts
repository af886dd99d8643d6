/**
 * Runs the loopback OpenAI upstream as its own process (benchmarks):
 *
 *   node dist/src/loopback/main.js --port N [--host H] [--latency-ms N] [--chunks N] [--api-key K] [--record]
 *
 * Prints one JSON line on stdout once listening:
 * `{"event":"upstream.listening","port":N,"url":"http://127.0.0.1:N/v1"}`, and
 * `{"event":"upstream.stopped"}` after SIGTERM or SIGINT, then exits 0. Bad arguments print
 * `{"event":"upstream.failed","message":...}` on stderr and exit 2. Recording is off unless `--record`.
 */
import { parseArgs } from 'node:util';
import { startOpenAIUpstream } from './openai-upstream.js';
import type { UpstreamOptions } from './openai-upstream.js';

function fail(message: string): never {
  process.stderr.write(JSON.stringify({ event: 'upstream.failed', message }) + '\n');
  process.exit(2);
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) fail(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

let values: { [name: string]: string | boolean | undefined };
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'latency-ms': { type: 'string' },
      chunks: { type: 'string' },
      'api-key': { type: 'string' },
      record: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  fail((error as Error).message);
}

const str = (name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};

const options: UpstreamOptions = { record: values.record === true };
const port = integer(str('port'), 'port');
const latencyMs = integer(str('latency-ms'), 'latency-ms');
const chunks = integer(str('chunks'), 'chunks');
if (port !== undefined) options.port = port;
if (latencyMs !== undefined) options.latencyMs = latencyMs;
if (chunks !== undefined) options.chunks = chunks;
const host = str('host');
if (host !== undefined) options.host = host;
const apiKey = str('api-key');
if (apiKey !== undefined) options.apiKey = apiKey;

let upstream;
try {
  upstream = await startOpenAIUpstream(options);
} catch (error) {
  fail((error as Error).message);
}
const running = upstream;
process.stdout.write(JSON.stringify({ event: 'upstream.listening', port: running.port, url: running.url }) + '\n');

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void running.close().then(() => {
    process.stdout.write(JSON.stringify({ event: 'upstream.stopped' }) + '\n', () => process.exit(0));
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
