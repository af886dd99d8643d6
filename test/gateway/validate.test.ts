import { describe, expect, it } from 'vitest';
import { OptimizerError } from '../../src/errors/registry.js';
import type { Endpoint } from '../../src/gateway/types.js';
import { validateRequestBody } from '../../src/gateway/validate.js';

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], ...extra });
const embeddings = (extra: Record<string, unknown> = {}) => ({ model: 'auto', input: 'hello', ...extra });

/** The INVALID_REQUEST thrown for `body`, checked for its shape. */
function rejected(endpoint: Endpoint, body: unknown): OptimizerError {
  try {
    validateRequestBody(endpoint, body);
  } catch (error) {
    expect(error).toBeInstanceOf(OptimizerError);
    const e = error as OptimizerError;
    expect(e.code).toBe('INVALID_REQUEST');
    expect(e.status).toBe(400);
    expect(e.type).toBe('invalid_request_error');
    return e;
  }
  throw new Error(`expected INVALID_REQUEST for ${JSON.stringify(body)}`);
}

const paramOf = (endpoint: Endpoint, body: unknown) => rejected(endpoint, body).param;

describe('validateRequestBody', () => {
  describe('the body', () => {
    it.each([null, undefined, 'text', 42, [chat()], true])('rejects %j with param body', (body) => {
      expect(paramOf('chat.completions', body)).toBe('body');
      expect(paramOf('embeddings', body)).toBe('body');
    });

    it('returns the body itself, unknown fields untouched', () => {
      const body = chat({ provider_extra: { a: 1 }, seed: 7 });
      expect(validateRequestBody('chat.completions', body)).toBe(body);
      const e = embeddings({ dimensions: 256 });
      expect(validateRequestBody('embeddings', e)).toBe(e);
    });
  });

  describe('model', () => {
    it('may be omitted (the router takes the default)', () => {
      expect(() => validateRequestBody('chat.completions', { messages: [{ role: 'user', content: 'x' }] })).not.toThrow();
      expect(() => validateRequestBody('embeddings', { input: 'x' })).not.toThrow();
    });

    it.each(['', null, 3, ['a'], {}])('rejects %j with param model', (model) => {
      expect(paramOf('chat.completions', chat({ model }))).toBe('model');
      expect(paramOf('embeddings', embeddings({ model }))).toBe('model');
    });
  });

  describe('chat.completions', () => {
    it('accepts what real clients send', () => {
      const openclaw = chat({
        messages: [
          { role: 'system', content: 'You are…' },
          { role: 'developer', content: 'rules' },
          { role: 'user', content: [{ type: 'text', text: 'hi' }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'ok' },
          { role: 'function', name: 'f', content: 'legacy' },
          { role: 'assistant' },
        ],
        stream: true,
        stream_options: { include_usage: true },
        max_completion_tokens: 4096,
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: 'auto',
        temperature: 0,
        top_p: 1,
        n: 1,
        presence_penalty: -2,
        frequency_penalty: 2,
        stop: ['\n\n', 'END'],
      });
      expect(() => validateRequestBody('chat.completions', openclaw)).not.toThrow();
      expect(() => validateRequestBody('chat.completions', chat({ stream: false, max_tokens: 1, stop: 'END' }))).not.toThrow();
      expect(() => validateRequestBody('chat.completions', chat({ stream: null, tools: null, stop: null, temperature: null }))).not.toThrow();
    });

    it.each([undefined, null, [], 'hi', { role: 'user' }])('rejects messages %j with param messages', (messages) => {
      expect(paramOf('chat.completions', { model: 'auto', messages })).toBe('messages');
    });

    it('rejects a message that is not an object, naming its index', () => {
      expect(paramOf('chat.completions', chat({ messages: [{ role: 'user', content: 'a' }, 'b'] }))).toBe('messages[1]');
      expect(paramOf('chat.completions', chat({ messages: [null] }))).toBe('messages[0]');
      expect(paramOf('chat.completions', chat({ messages: [[{ role: 'user' }]] }))).toBe('messages[0]');
    });

    it.each([undefined, 'robot', 'User', 3])('rejects role %j with param messages[i].role', (role) => {
      const error = rejected('chat.completions', chat({ messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { role, content: 'c' }] }));
      expect(error.param).toBe('messages[2].role');
      expect(error.message).toContain('system, developer, user, assistant, tool, function');
    });

    it.each([3, true, { text: 'x' }])('rejects content %j with param messages[i].content', (content) => {
      expect(paramOf('chat.completions', chat({ messages: [{ role: 'user', content }] }))).toBe('messages[0].content');
    });

    it.each(['true', 1, 0, {}])('rejects stream %j with param stream', (stream) => {
      expect(paramOf('chat.completions', chat({ stream }))).toBe('stream');
    });

    const ranges: [field: string, min: number, max: number, integer: boolean][] = [
      ['temperature', 0, 2, false],
      ['top_p', 0, 1, false],
      ['n', 1, 128, true],
      ['max_tokens', 1, 10_000_000, true],
      ['max_completion_tokens', 1, 10_000_000, true],
      ['presence_penalty', -2, 2, false],
      ['frequency_penalty', -2, 2, false],
    ];

    describe.each(ranges)('%s (%d to %d)', (field, min, max, integer) => {
      it('accepts both bounds', () => {
        expect(() => validateRequestBody('chat.completions', chat({ [field]: min }))).not.toThrow();
        expect(() => validateRequestBody('chat.completions', chat({ [field]: max }))).not.toThrow();
      });

      it('rejects values out of range or of the wrong type, with its param', () => {
        const step = integer ? 1 : 0.01;
        for (const value of [min - step, max + step, String(min), true, [min], Number.NaN, Number.POSITIVE_INFINITY]) {
          const error = rejected('chat.completions', chat({ [field]: value }));
          expect(error.param).toBe(field);
          expect(error.message).toBe(`'${field}' must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}.`);
        }
      });

      if (integer) {
        it('rejects a fraction', () => {
          expect(paramOf('chat.completions', chat({ [field]: min + 0.5 }))).toBe(field);
        });
      } else {
        it('accepts a fraction', () => {
          expect(() => validateRequestBody('chat.completions', chat({ [field]: (min + max) / 3 }))).not.toThrow();
        });
      }
    });

    it.each([{}, 'f', 1])('rejects tools %j with param tools', (tools) => {
      expect(paramOf('chat.completions', chat({ tools }))).toBe('tools');
    });

    it.each([1, ['a', 1], { stop: 'x' }, [null]])('rejects stop %j with param stop', (stop) => {
      expect(paramOf('chat.completions', chat({ stop }))).toBe('stop');
    });

    it('checks the messages before the other fields', () => {
      expect(paramOf('chat.completions', { messages: [], temperature: 9 })).toBe('messages');
    });

    it('does not apply the chat rules to embeddings', () => {
      expect(() => validateRequestBody('embeddings', embeddings({ temperature: 9, stream: 'yes' }))).not.toThrow();
    });
  });

  describe('embeddings', () => {
    it.each([
      ['a string', 'hello'],
      ['an array of strings', ['a', 'b']],
      ['a token array', [1, 2, 3]],
      ['an array of token arrays', [[1, 2], [3]]],
    ])('accepts %s', (_name, input) => {
      expect(() => validateRequestBody('embeddings', embeddings({ input }))).not.toThrow();
    });

    it.each([undefined, null, 3, [], ['a', 1], [1, [2]], { text: 'a' }, [null]])('rejects input %j with param input', (input) => {
      expect(paramOf('embeddings', embeddings({ input }))).toBe('input');
    });

    it('accepts encoding_format float and base64 (what the OpenAI client sends by default)', () => {
      expect(() => validateRequestBody('embeddings', embeddings({ encoding_format: 'float' }))).not.toThrow();
      expect(() => validateRequestBody('embeddings', embeddings({ encoding_format: 'base64' }))).not.toThrow();
    });

    it.each(['FLOAT', 'binary', null, 1])('rejects encoding_format %j with param encoding_format', (encoding_format) => {
      expect(paramOf('embeddings', embeddings({ encoding_format }))).toBe('encoding_format');
    });

    it('does not need messages', () => {
      expect(() => validateRequestBody('embeddings', { input: 'x' })).not.toThrow();
    });

    it('regression: an array of arrays of strings is not taken for token arrays', () => {
      // The rule (and its message) is "an array of token arrays": arrays of integers.
      expect(paramOf('embeddings', embeddings({ input: [['not', 'tokens']] }))).toBe('input');
    });
  });
});
