import { describe, expect, it } from 'vitest';
import { adminAllowed, isLoopback, sameSecret } from '../../src/identity/admin-key.js';

describe('the admin guard (HTTP /admin/* and WebSocket admin sessions)', () => {
  it('with an admin key: the key itself, from anywhere; nothing else', () => {
    expect(adminAllowed('s3cret', 's3cret', '203.0.113.9')).toBe(true);
    expect(adminAllowed('s3cret', 's3cret', '127.0.0.1')).toBe(true);
    expect(adminAllowed('s3cret', 's3cre', '127.0.0.1')).toBe(false);
    expect(adminAllowed('s3cret', 's3cret ', '127.0.0.1')).toBe(false);
    expect(adminAllowed('s3cret', '', '127.0.0.1')).toBe(false);
    // Loopback is no substitute for the key once one is configured.
    expect(adminAllowed('s3cret', undefined, '127.0.0.1')).toBe(false);
  });

  it('without one: loopback peers only, whatever they present', () => {
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(adminAllowed(undefined, 'anything', address)).toBe(true);
    for (const address of ['10.0.0.2', '::ffff:10.0.0.2', undefined]) expect(adminAllowed(undefined, 'anything', address)).toBe(false);
    expect(isLoopback('127.0.0.2')).toBe(false);
  });

  it('compares secrets of any lengths (hashed first, so timingSafeEqual never sees unequal lengths)', () => {
    expect(sameSecret('a', 'a')).toBe(true);
    expect(sameSecret('a', 'a'.repeat(1000))).toBe(false);
    expect(sameSecret('', '')).toBe(true);
    expect(sameSecret('ключ', 'ключ')).toBe(true);
  });
});
