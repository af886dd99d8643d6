import { describe, expect, it } from 'vitest';
import { LazyAbort } from '../../src/gateway/lazy-abort.js';

describe('LazyAbort', () => {
  it('makes its signal on first read, the same one every time, and aborts it', () => {
    const cancel = new LazyAbort();
    const signal = cancel.signal;
    expect(cancel.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    cancel.abort('client gone');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('client gone');
  });

  it('remembers an abort made before any signal: a signal read later is already aborted, with the reason', () => {
    const cancel = new LazyAbort();
    cancel.abort('early');
    expect(cancel.aborted).toBe(true);
    expect(cancel.signal.aborted).toBe(true);
    expect(cancel.signal.reason).toBe('early');
  });

  it('aborts once: a later abort changes nothing', () => {
    const cancel = new LazyAbort();
    let calls = 0;
    cancel.signal.addEventListener('abort', () => calls++);
    cancel.abort('first');
    cancel.abort('second');
    expect(calls).toBe(1);
    expect(cancel.signal.reason).toBe('first');
  });
});
