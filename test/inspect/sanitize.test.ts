import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { sanitizeInspection } from '../../src/inspect/sanitize.js';

describe('sanitizeInspection', () => {
  const sanitize = sanitizeInspection(['exact-secret-value-123', 'short']);

  it('hides the env, the runtime and the admin key wherever they sit, and what Secret hides', () => {
    const event = {
      type: '@xstate.snapshot',
      snapshot: { context: { specs: [{ input: { runtime: { env: { KEY: 'x' } } } }], deps: { adminKey: 'a', env: { PATH: '/bin' } }, key: new Secret('s') } },
    };
    expect(sanitize(event)).toEqual({
      type: '@xstate.snapshot',
      snapshot: { context: { specs: [{ input: { runtime: '[Runtime]' } }], deps: { adminKey: '[redacted]', env: '[redacted]' }, key: '[redacted]' } },
    });
  });

  it('scrubs secret values named in the config, and key-like strings, from every string', () => {
    const out = sanitize({ a: 'Bearer zzzzzzzzzzzzzzzzzzzz', b: ['x exact-secret-value-123 y'], c: 'short stays (too short to scrub exactly)' });
    expect(JSON.stringify(out)).not.toContain('exact-secret-value-123');
    expect(JSON.stringify(out)).not.toContain('zzzzzzzzzzzzzzzzzzzz');
    expect((out as { c: string }).c).toBe('short stays (too short to scrub exactly)');
  });

  it('cuts cycles, bounds depth, names functions, and survives a toJSON that returns objects with a toJSON', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 50; i++) deep = deep.next = {} as Record<string, unknown>;
    const nested = { toJSON: () => ({ toJSON: () => ({ toJSON: () => 'never reached' }), inner: 1 }) };
    const out = sanitize({ cyclic, top, fn: function assign() {}, nested }) as Record<string, unknown>;
    expect((out.cyclic as Record<string, unknown>).self).toBe('[Circular]');
    expect(JSON.stringify(out.top)).toContain('[Object]');
    expect(out.fn).toEqual({ type: 'assign' });
    expect(out.nested).toEqual({ toJSON: { type: 'toJSON' }, inner: 1 });
  });
});
