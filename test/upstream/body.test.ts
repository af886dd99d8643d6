import { describe, expect, it } from 'vitest';
import { readAll, readText, UNREAD_HIGH_WATER, UpstreamBody, type BodyControl, type BodyReader } from '../../src/upstream/body.js';

/** What the body asked of the transport, in order. */
function recordingControl(): BodyControl & { calls: string[]; abortedWith: Error | undefined } {
  const control = {
    calls: [] as string[],
    abortedWith: undefined as Error | undefined,
    pause: () => control.calls.push('pause'),
    resume: () => control.calls.push('resume'),
    abort: (reason: Error) => {
      control.calls.push('abort');
      control.abortedWith = reason;
    },
  };
  return control;
}

/** What a reader was told, in order. */
function recordingReader(): BodyReader & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    data: (chunk) => seen.push(`data:${chunk.toString()}`),
    end: () => seen.push('end'),
    error: (error) => seen.push(`error:${error.message}`),
  };
}

describe('UpstreamBody', () => {
  it('keeps what arrives before it is read, then hands it over in order with what follows', () => {
    const body = new UpstreamBody(recordingControl());
    body.push(Buffer.from('a'));
    body.push(Buffer.from('b'));
    const reader = recordingReader();
    body.read(reader);
    expect(reader.seen).toEqual(['data:a', 'data:b']);
    body.push(Buffer.from('c'));
    body.end();
    expect(reader.seen).toEqual(['data:a', 'data:b', 'data:c', 'end']);
  });

  it('read after the end replays the whole body and its end', () => {
    const body = new UpstreamBody(recordingControl());
    body.push(Buffer.from('x'));
    body.end();
    const reader = recordingReader();
    body.read(reader);
    expect(reader.seen).toEqual(['data:x', 'end']);
  });

  it('read after a failure gives the chunks that came, then the error', () => {
    const body = new UpstreamBody(recordingControl());
    body.push(Buffer.from('x'));
    body.fail(new Error('socket hang up'));
    body.push(Buffer.from('late'));
    body.end();
    const reader = recordingReader();
    body.read(reader);
    expect(reader.seen).toEqual(['data:x', 'error:socket hang up']);
  });

  it('pauses the socket once unread bytes reach the high-water mark, and resumes it when read', () => {
    const control = recordingControl();
    const body = new UpstreamBody(control);
    body.push(Buffer.alloc(UNREAD_HIGH_WATER - 1));
    expect(control.calls).toEqual([]);
    body.push(Buffer.alloc(1));
    expect(control.calls).toEqual(['pause']);
    body.push(Buffer.alloc(10)); // already paused: no second pause
    let bytes = 0;
    body.read({ data: (c) => (bytes += c.length), end() {}, error() {} });
    expect(bytes).toBe(UNREAD_HIGH_WATER + 10);
    expect(control.calls).toEqual(['pause', 'resume']);
  });

  it('a reader that paused keeps the socket paused when the held body is handed over', () => {
    const control = recordingControl();
    const body = new UpstreamBody(control);
    body.push(Buffer.alloc(UNREAD_HIGH_WATER));
    let paused = false;
    body.read({
      data: () => {
        if (!paused) {
          paused = true;
          body.pause();
        }
      },
      end() {},
      error() {},
    });
    expect(control.calls).toEqual(['pause', 'pause']);
    body.resume();
    expect(control.calls).toEqual(['pause', 'pause', 'resume']);
  });

  it('pause and resume from the reader reach the socket only while the body is open', () => {
    const control = recordingControl();
    const body = new UpstreamBody(control);
    body.read(recordingReader());
    body.pause();
    body.pause();
    body.resume();
    body.resume();
    expect(control.calls).toEqual(['pause', 'resume']);
    body.end();
    body.pause();
    body.resume();
    expect(control.calls).toEqual(['pause', 'resume']);
  });

  it('destroy aborts an open call with an AbortError and silences the reader', () => {
    const control = recordingControl();
    const body = new UpstreamBody(control);
    const reader = recordingReader();
    body.read(reader);
    body.push(Buffer.from('a'));
    body.destroy();
    expect(control.calls).toEqual(['abort']);
    expect(control.abortedWith?.name).toBe('AbortError');
    // What undici reports after the abort reaches nobody.
    body.fail(control.abortedWith!);
    body.push(Buffer.from('b'));
    expect(reader.seen).toEqual(['data:a']);
  });

  it('destroy by the reader in the middle of the held chunks stops their delivery', () => {
    const control = recordingControl();
    const body = new UpstreamBody(control);
    body.push(Buffer.from('a'));
    body.push(Buffer.from('b'));
    body.end();
    const seen: string[] = [];
    body.read({
      data: (chunk) => {
        seen.push(chunk.toString());
        body.destroy();
      },
      end: () => seen.push('end'),
      error: () => seen.push('error'),
    });
    expect(seen).toEqual(['a']);
    expect(control.calls).toEqual([]); // the call was over already: nothing to abort
  });

  it('a body abandoned before it is read reads as a premature close', async () => {
    const body = new UpstreamBody(recordingControl());
    body.push(Buffer.from('a'));
    body.destroy();
    await expect(readAll(body)).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it('discard reads to the end without keeping anything, so the connection is reused', () => {
    const control = recordingControl();
    const body = new UpstreamBody(control);
    body.push(Buffer.alloc(UNREAD_HIGH_WATER));
    body.discard();
    expect(control.calls).toEqual(['pause', 'resume']);
    body.push(Buffer.from('more'));
    body.end();
    expect(control.calls).not.toContain('abort');
  });

  it('is read once', () => {
    const body = new UpstreamBody(recordingControl());
    body.read(recordingReader());
    expect(() => body.read(recordingReader())).toThrow(/read once/);
  });
});

describe('readAll and readText', () => {
  it('readAll resolves the whole body, one chunk as it is', async () => {
    const one = new UpstreamBody(recordingControl());
    const chunk = Buffer.from('{"a":1}');
    one.push(chunk);
    one.end();
    expect(await readAll(one)).toBe(chunk);

    const many = new UpstreamBody(recordingControl());
    const all = readAll(many);
    many.push(Buffer.from('{"a"'));
    many.push(Buffer.from(':1}'));
    many.end();
    expect((await all).toString()).toBe('{"a":1}');
  });

  it('readAll rejects with the call’s failure', async () => {
    const body = new UpstreamBody(recordingControl());
    const all = readAll(body);
    body.push(Buffer.from('{"a"'));
    body.fail(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    await expect(all).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
  });

  it('readText keeps at most the limit and reads the rest to the end', async () => {
    const control = recordingControl();
    const body = new UpstreamBody(control);
    const text = readText(body, 5);
    body.push(Buffer.from('abc'));
    body.push(Buffer.from('defgh'));
    body.push(Buffer.from('ijk'));
    body.end();
    expect(await text).toBe('abcde');
    expect(control.calls).not.toContain('abort');
  });
});
