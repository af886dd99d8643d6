import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelSignal } from '../../src/gateway/cancel-signal.js';

describe('CancelSignal', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs its listeners (functions and handleEvent objects) once, at the abort, with the reason set', () => {
    const signal = new CancelSignal();
    const seen: string[] = [];
    signal.addEventListener('abort', () => seen.push(`fn:${String(signal.reason)}`));
    signal.addEventListener('abort', { handleEvent: () => seen.push('object') });
    expect(signal.aborted).toBe(false);
    signal.abort('gone');
    signal.abort('again');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('gone');
    expect(seen).toEqual(['fn:gone', 'object']);
  });

  it('aborts with an AbortError by default, as AbortController does', () => {
    const signal = new CancelSignal();
    signal.abort();
    expect(signal.reason).toBeInstanceOf(DOMException);
    expect((signal.reason as DOMException).name).toBe('AbortError');
  });

  it('forgets a removed listener, and takes none after the abort', () => {
    const signal = new CancelSignal();
    const listener = vi.fn();
    signal.addEventListener('abort', listener);
    signal.removeEventListener('abort', listener);
    signal.abort();
    signal.addEventListener('abort', listener);
    expect(listener).not.toHaveBeenCalled();
  });

  it('runs the other listeners when one throws, and reports the error afterwards', async () => {
    const signal = new CancelSignal();
    const after = vi.fn();
    const reported = new Promise<unknown>((resolve) => {
      const original = queueMicrotask;
      vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) =>
        original(() => {
          try {
            task();
          } catch (error) {
            resolve(error);
          }
        }),
      );
    });
    signal.addEventListener('abort', () => {
      throw new Error('listener failed');
    });
    signal.addEventListener('abort', after);
    signal.abort();
    expect(after).toHaveBeenCalledOnce();
    await expect(reported).resolves.toMatchObject({ message: 'listener failed' });
  });

  it('is taken by undici as a request signal: aborting it cuts the call', async () => {
    const { createServer } = await import('node:http');
    const { request } = await import('undici');
    const server = createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const signal = new CancelSignal();
      const call = request(`http://127.0.0.1:${port}/`, { signal: signal as unknown as AbortSignal });
      setTimeout(() => signal.abort(new Error('client went away')), 20);
      await expect(call).rejects.toThrow('client went away');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
