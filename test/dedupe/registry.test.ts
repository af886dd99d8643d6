import { describe, expect, it } from 'vitest';
import { DedupeRegistry } from '../../src/dedupe/registry.js';
import type { ResponseMeta } from '../../src/gateway/types.js';
import { OptimizerError } from '../../src/errors/registry.js';

const meta: ResponseMeta = { requestId: 'req_1', backend: 'a', model: 'a/m', routeReason: 'model', cache: 'miss', dedupe: 'leader' };
const answer = (text: string) => ({ body: Buffer.from(text), value: JSON.parse(text) as unknown });

describe('DedupeRegistry', () => {
  it('keeps a finished answer for the window, then forgets it; errors are never kept', () => {
    let now = 0;
    const registry = new DedupeRegistry(1_000, () => now);
    const flight = registry.start('k');
    expect(registry.flight('k')).toBe(flight);
    flight.json(200, answer('{"n":1}'), meta);
    expect(registry.flight('k')).toBeUndefined();
    expect(registry.recent('k')?.body.toString()).toBe('{"n":1}');
    now = 999;
    expect(registry.recent('k')).toBeDefined();
    now = 1_000;
    expect(registry.recent('k')).toBeUndefined();

    registry.start('e').error(new OptimizerError('UPSTREAM_ERROR', 'boom'));
    registry.start('f').json(500, answer('{"error":{}}'), meta);
    expect(registry.recent('e')).toBeUndefined();
    expect(registry.recent('f')).toBeUndefined();
  });

  it('keeps its own copy of the body, sized to it, and answers with what was kept', () => {
    const registry = new DedupeRegistry(1_000, () => 0);
    // As relayed, a body can be a view into a larger buffer (the socket read with its headers).
    const read = Buffer.alloc(4096);
    const used = read.write('HTTP/1.1 200 OK\r\n\r\n{"n":1}');
    const body = read.subarray(used - '{"n":1}'.length, used);
    registry.start('k').json(200, { body, value: { n: 1 } }, meta);
    read.fill(0); // the socket's buffer, reused or gone
    const recent = registry.recent('k')!;
    expect(recent.body.toString()).toBe('{"n":1}');
    expect(recent.body.buffer).not.toBe(read.buffer);
    expect(recent.status).toBe(200);
    expect(recent.value).toEqual({ n: 1 });
    expect(recent.backend).toBe('a');
  });

  it('drops the oldest past 10,000 answers and what expired, never a newer answer to the same key', () => {
    let now = 0;
    const registry = new DedupeRegistry(1_000, () => now);
    const finish = (key: string) => registry.start(key).json(200, answer(`{"k":"${key}"}`), meta);
    for (let i = 0; i <= 10_000; i++) finish(`k${i}`);
    expect(registry.kept).toBe(10_000);
    expect(registry.recent('k0')).toBeUndefined();
    expect(registry.recent('k1')).toBeDefined();
    expect(registry.recent('k10000')).toBeDefined();

    now = 1_000; // every one of them expired
    expect(registry.recent('k1')).toBeUndefined();
    finish('k1'); // kept again, until 2_000; its old record is still queued
    expect(registry.kept).toBe(1); // the others went as expired
    now = 1_500;
    finish('x');
    expect(registry.recent('k1')?.body.toString()).toBe('{"k":"k1"}');
    expect(registry.kept).toBe(2);
    now = 2_000;
    finish('y');
    expect(registry.recent('k1')).toBeUndefined();
    expect(registry.recent('x')).toBeDefined();
  });

  it('does not keep an answer the response cache holds for at least the window', () => {
    const registry = new DedupeRegistry(1_000, () => 0);
    registry.start('cached', 60_000).json(200, answer('{"n":1}'), meta);
    registry.start('exactly', 1_000).json(200, answer('{"n":2}'), meta);
    // Cached for less than the window: the cache may drop it first, so the window keeps it.
    registry.start('short', 999).json(200, answer('{"n":3}'), meta);
    expect(registry.recent('cached')).toBeUndefined();
    expect(registry.recent('exactly')).toBeUndefined();
    expect(registry.recent('short')?.body.toString()).toBe('{"n":3}');
  });
});
