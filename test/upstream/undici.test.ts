import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Agent, Pool, request, requestOn } from '../../src/upstream/undici.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

describe('undici, loaded in parts (src/upstream/undici.ts)', () => {
  it('gives the very classes and request API the package exports', async () => {
    const undici = await import('undici');
    expect(Pool).toBe(undici.Pool);
    expect(Agent).toBe(undici.Agent);
    const api = createRequire(import.meta.url)('undici/lib/api/index.js') as { request: unknown };
    expect(undici.Dispatcher.prototype.request).toBe(api.request);
  });

  it('requests on a pool and by URL (query kept)', async () => {
    const server = createServer((req, res) => res.end(`${req.method} ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pool = new Pool(origin, { connections: 1 });
    const agent = new Agent();
    try {
      const a = await requestOn(pool, { method: 'POST', path: '/v1/x', body: '{}' });
      expect(await a.body.text()).toBe('POST /v1/x');
      const b = await request(`${origin}/v1/models?limit=2`, { dispatcher: agent });
      expect(await b.body.text()).toBe('GET /v1/models?limit=2');
    } finally {
      await pool.close();
      await agent.close();
      server.close();
    }
  });

  it('the optimizer’s modules never load the whole package, and need none of its prototype mixins', () => {
    // A process of its own: this one may have loaded the package's index (the test above does).
    const script = `
      import { createRequire } from 'node:module';
      import { createServer } from 'node:http';
      await import(${JSON.stringify(`${DIST}src/optimizer.js`)});
      const { Pool, requestOn } = await import(${JSON.stringify(`${DIST}src/upstream/undici.js`)});
      const cache = Object.keys(createRequire(import.meta.url).cache);
      const server = createServer((req, res) => res.end('ok'));
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const pool = new Pool('http://127.0.0.1:' + server.address().port);
      const res = await requestOn(pool, { method: 'GET', path: '/' });
      console.log(JSON.stringify({
        index: cache.some((k) => k.endsWith('undici/index.js')),
        parts: cache.filter((k) => k.includes('/undici/lib/')).length,
        mixin: typeof Pool.prototype.request,
        body: await res.body.text(),
      }));
      await pool.close();
      server.close();
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout.trim())).toEqual({ index: false, parts: expect.any(Number), mixin: 'undefined', body: 'ok' });
  });
});
