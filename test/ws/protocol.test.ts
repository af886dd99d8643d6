import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { OptimizerError } from '../../src/errors/registry.js';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, type ClientFrame, type Encoding } from '../../src/ws/protocol.js';

/** The frame as a text (JSON) or binary (msgpack) WebSocket message. */
function encode(frame: unknown, encoding: Encoding): [Buffer, boolean] {
  return encoding === 'json' ? [Buffer.from(JSON.stringify(frame), 'utf8'), false] : [pack(frame), true];
}

function decode(frame: unknown, encoding: Encoding): ClientFrame {
  const [data, binary] = encode(frame, encoding);
  return decodeFrame(data, binary);
}

function invalid(data: Buffer, binary: boolean): OptimizerError {
  try {
    decodeFrame(data, binary);
  } catch (error) {
    expect(error).toBeInstanceOf(OptimizerError);
    const e = error as OptimizerError;
    expect(e.code).toBe('INVALID_FRAME');
    expect(e.status).toBe(400);
    return e;
  }
  throw new Error('expected INVALID_FRAME, the frame was accepted');
}

const invalidFrame = (frame: unknown, encoding: Encoding) => invalid(...encode(frame, encoding));

const params = { model: 'auto', messages: [{ role: 'user', content: 'hi' }] };

describe('decodeFrame', () => {
  it('is protocol version 1', () => {
    expect(PROTOCOL_VERSION).toBe(1);
  });

  describe.each(['json', 'msgpack'] as const)('%s', (encoding) => {
    it('hello, with and without its optional fields', () => {
      expect(decode({ type: 'hello' }, encoding)).toEqual({ type: 'hello' });
      expect(decode({ type: 'hello', agentId: 'coder-1', key: 'sk-agent', agentType: 'coder' }, encoding)).toEqual({
        type: 'hello',
        agentId: 'coder-1',
        key: 'sk-agent',
        agentType: 'coder',
      });
      expect(decode({ type: 'hello', agentId: null, extra: 1 }, encoding)).toEqual({ type: 'hello' });
      expect(decode({ type: 'hello', agentId: 'ops', adminKey: 'k' }, encoding)).toEqual({ type: 'hello', agentId: 'ops', adminKey: 'k' });
    });

    it('hello with a non-string field', () => {
      expect(invalidFrame({ type: 'hello', agentId: 42 }, encoding).message).toContain("'agentId'");
      expect(invalidFrame({ type: 'hello', key: ['k'] }, encoding).message).toContain("'key'");
      expect(invalidFrame({ type: 'hello', agentType: {} }, encoding).message).toContain("'agentType'");
      expect(invalidFrame({ type: 'hello', adminKey: 7 }, encoding).message).toContain("'adminKey'");
    });

    it('request, with the default endpoint and no hints', () => {
      expect(decode({ type: 'request', id: 'r1', params }, encoding)).toEqual({
        type: 'request',
        id: 'r1',
        endpoint: 'chat.completions',
        params,
        hints: {},
      });
    });

    it('request for embeddings, with hints', () => {
      const frame = { type: 'request', id: 'e1', endpoint: 'embeddings', params: { input: 'x' }, hints: { backend: 'groq', priority: 5 } };
      expect(decode(frame, encoding)).toEqual({ type: 'request', id: 'e1', endpoint: 'embeddings', params: { input: 'x' }, hints: { backend: 'groq', priority: 5 } });
    });

    it('request hints: keeps the known fields of the right type and drops the rest', () => {
      const hints = { backend: 'groq', taskType: 'code', priority: 3, cacheControl: 'no-cache', unknown: 'x' };
      expect(decode({ type: 'request', id: 'r', params, hints }, encoding)).toHaveProperty('hints', {
        backend: 'groq',
        taskType: 'code',
        priority: 3,
        cacheControl: 'no-cache',
      });
      const wrongTypes = { backend: 1, taskType: false, priority: '3', cacheControl: ['no-cache'] };
      expect(decode({ type: 'request', id: 'r', params, hints: wrongTypes }, encoding)).toHaveProperty('hints', {});
      expect(decode({ type: 'request', id: 'r', params, hints: null }, encoding)).toHaveProperty('hints', {});
    });

    it('request without an id, or with an empty, non-string or too long one (no id in details)', () => {
      for (const id of [undefined, '', 7, 'x'.repeat(129)]) {
        const error = invalidFrame({ type: 'request', id, params }, encoding);
        expect(error.message).toContain("'id'");
        expect(error.details).toBeUndefined();
      }
    });

    it('request ids of 1 and 128 characters', () => {
      expect(decode({ type: 'request', id: 'x', params }, encoding)).toMatchObject({ id: 'x' });
      expect(decode({ type: 'request', id: 'x'.repeat(128), params }, encoding)).toMatchObject({ id: 'x'.repeat(128) });
    });

    it('request with a bad endpoint carries the id', () => {
      for (const endpoint of ['completions', 'chat/completions', '', 3, ['embeddings']]) {
        const error = invalidFrame({ type: 'request', id: 'r9', endpoint, params }, encoding);
        expect(error.details).toEqual({ id: 'r9' });
        expect(error.message).toContain("'endpoint'");
      }
    });

    it('request with a null endpoint takes the default', () => {
      expect(decode({ type: 'request', id: 'r', endpoint: null, params }, encoding)).toMatchObject({ endpoint: 'chat.completions' });
    });

    it('request whose params are not an object carries the id', () => {
      for (const bad of [undefined, null, 'hi', 3, [params]]) {
        const error = invalidFrame({ type: 'request', id: 'r2', params: bad }, encoding);
        expect(error.message).toContain("'params'");
        expect(error.details).toEqual({ id: 'r2' });
      }
    });

    it('request whose hints are not an object carries the id', () => {
      for (const hints of ['groq', 1, ['groq']]) {
        const error = invalidFrame({ type: 'request', id: 'r3', params, hints }, encoding);
        expect(error.message).toContain("'hints'");
        expect(error.details).toEqual({ id: 'r3' });
      }
    });

    it('cancel', () => {
      expect(decode({ type: 'cancel', id: 'r1' }, encoding)).toEqual({ type: 'cancel', id: 'r1' });
      expect(invalidFrame({ type: 'cancel' }, encoding).message).toContain("'id'");
      expect(invalidFrame({ type: 'cancel', id: 'y'.repeat(129) }, encoding).message).toContain("'id'");
    });

    it('ping, with any ts echoed', () => {
      expect(decode({ type: 'ping' }, encoding)).toEqual({ type: 'ping', ts: undefined });
      expect(decode({ type: 'ping', ts: 12345 }, encoding)).toEqual({ type: 'ping', ts: 12345 });
      expect(decode({ type: 'ping', ts: { at: 'x' } }, encoding)).toEqual({ type: 'ping', ts: { at: 'x' } });
    });

    it.each(['subscribe', 'unsubscribe'] as const)('%s with topic patterns', (type) => {
      expect(decode({ type, topics: ['breaker.*', 'request.completed', '*'] }, encoding)).toEqual({ type, topics: ['breaker.*', 'request.completed', '*'] });
      expect(decode({ type, topics: ['t'.repeat(128)] }, encoding)).toEqual({ type, topics: ['t'.repeat(128)] });
    });

    it.each(['subscribe', 'unsubscribe'] as const)('%s with bad topics', (type) => {
      for (const topics of [undefined, [], 'breaker.*', [''], ['ok', 3], ['t'.repeat(129)], [null]]) {
        expect(invalidFrame({ type, topics }, encoding).message).toContain("'topics'");
      }
    });

    it('a frame that is not an object', () => {
      for (const frame of [null, 42, 'hello', ['hello'], true]) {
        expect(invalidFrame(frame, encoding).message).toContain('must be an object');
      }
    });

    it('an unknown or missing type', () => {
      expect(invalidFrame({ type: 'welcome' }, encoding).message).toContain('Unknown frame type "welcome"');
      expect(invalidFrame({ id: 'r1' }, encoding).message).toContain('Unknown frame type');
      expect(invalidFrame({ type: 7 }, encoding).message).toContain('Unknown frame type 7');
    });
  });

  it('drops a non-finite priority hint (msgpack can carry NaN and Infinity)', () => {
    for (const priority of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(decode({ type: 'request', id: 'r', params, hints: { priority, backend: 'b' } }, 'msgpack')).toHaveProperty('hints', { backend: 'b' });
    }
  });

  it('invalid JSON', () => {
    for (const text of ['', '{', '{"type":"ping",}', 'ping', '\u00ff']) {
      const error = invalid(Buffer.from(text, 'utf8'), false);
      expect(error.message).toBe('The text frame is not valid JSON.');
      expect(error.details).toBeUndefined();
    }
  });

  it('invalid msgpack', () => {
    for (const bytes of [[], [0x92, 0x01], [0xa3, 0x61], [0x81, 0xa4]]) {
      expect(invalid(Buffer.from(bytes), true).message).toBe('The binary frame is not valid msgpack.');
    }
  });

  it('msgpack with trailing bytes after the frame', () => {
    expect(invalid(Buffer.concat([pack({ type: 'ping' }), pack(1)]), true).message).toBe('The binary frame is not valid msgpack.');
  });

  it('reads a JSON frame as text and a msgpack frame as binary, never the other way', () => {
    const [json] = encode({ type: 'ping' }, 'json');
    expect(invalid(json, true).code).toBe('INVALID_FRAME');
    expect(invalid(pack({ type: 'ping' }), false).message).toBe('The text frame is not valid JSON.');
  });

  it('reads UTF-8 text', () => {
    expect(decode({ type: 'hello', agentId: 'agent-ü-🚀' }, 'json')).toEqual({ type: 'hello', agentId: 'agent-ü-🚀' });
  });
});

describe('encodeFrame', () => {
  const frames: Record<string, unknown>[] = [
    { type: 'welcome', sessionId: 's1', protocol: PROTOCOL_VERSION },
    { type: 'chunk', id: 'r1', data: { choices: [{ delta: { content: 'héllo 🚀' } }] } },
    { type: 'error', id: 'r1', error: { code: 'RATE_LIMITED', message: 'wait', type: 'rate_limit_error', status: 429, retryAfterMs: 1500 } },
    { type: 'pong', ts: 123 },
  ];

  it.each(frames)('round-trips %j as JSON text', (frame) => {
    const encoded = encodeFrame(frame, 'json');
    expect(typeof encoded).toBe('string');
    expect(JSON.parse(encoded as string)).toEqual(frame);
  });

  it.each(frames)('round-trips %j as msgpack', (frame) => {
    const encoded = encodeFrame(frame, 'msgpack');
    expect(Buffer.isBuffer(encoded)).toBe(true);
    expect(unpack(encoded as Buffer)).toEqual(frame);
  });

  it('encodes what decodeFrame reads back, in both encodings', () => {
    const request = { type: 'request', id: 'r1', endpoint: 'chat.completions', params, hints: { priority: 1 } };
    expect(decodeFrame(Buffer.from(encodeFrame(request, 'json') as string), false)).toEqual(request);
    expect(decodeFrame(encodeFrame(request, 'msgpack') as Buffer, true)).toEqual(request);
  });
});
