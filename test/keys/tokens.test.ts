import { describe, expect, it } from 'vitest';
import {
  CHARS_PER_TOKEN,
  estimateTokens,
  estimateTokensFromJson,
  IMAGE_PART_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  REPLY_PRIMING_TOKENS,
} from '../../src/keys/tokens.js';

const PRIMING = REPLY_PRIMING_TOKENS;
const PER_MESSAGE = MESSAGE_OVERHEAD_TOKENS;

describe('estimateTokens', () => {
  it('is 0 for a body with nothing to read', () => {
    expect(estimateTokens({})).toBe(0);
    expect(estimateTokens({ temperature: 0 })).toBe(0);
  });

  it('counts characters / 4 of string contents plus a per-message overhead', () => {
    const body = { messages: [{ role: 'system', content: 'a'.repeat(400) }, { role: 'user', content: 'b'.repeat(40) }] };
    expect(estimateTokens(body)).toBe(PRIMING + 2 * PER_MESSAGE + 440 / CHARS_PER_TOKEN);
  });

  it('rounds the characters up', () => {
    expect(estimateTokens({ messages: [{ role: 'user', content: 'abcde' }] })).toBe(PRIMING + PER_MESSAGE + 2);
  });

  it('counts content parts’ text and a fixed cost per image', () => {
    const body = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x'.repeat(80) },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ],
    };
    expect(estimateTokens(body)).toBe(PRIMING + PER_MESSAGE + 20 + IMAGE_PART_TOKENS);
  });

  it('counts message names and assistant tool calls', () => {
    const body = {
      messages: [
        { role: 'assistant', name: 'abcd', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'run', arguments: '{"c":"ls"}' } }] },
      ],
    };
    // "abcd" + "run" + '{"c":"ls"}' = 4 + 3 + 10 = 17 characters → 5 tokens
    expect(estimateTokens(body)).toBe(PRIMING + PER_MESSAGE + 5);
  });

  it('counts tool definitions: name, description and the parameters schema as JSON', () => {
    const parameters = { type: 'object', properties: { path: { type: 'string' } } };
    const tool = { type: 'function', function: { name: 'read_file', description: 'Reads a file.', parameters } };
    const chars = 'read_file'.length + 'Reads a file.'.length + JSON.stringify(parameters).length;
    expect(estimateTokens({ tools: [tool] })).toBe(Math.ceil(chars / CHARS_PER_TOKEN));
  });

  it('counts a json_schema response format', () => {
    const schema = { name: 'answer', schema: { type: 'object' } };
    expect(estimateTokens({ response_format: { type: 'json_schema', json_schema: schema } })).toBe(
      Math.ceil(JSON.stringify(schema).length / CHARS_PER_TOKEN),
    );
  });

  it('counts embeddings input: strings by characters, token ids one each', () => {
    expect(estimateTokens({ input: 'a'.repeat(40) })).toBe(10);
    expect(estimateTokens({ input: ['a'.repeat(8), 'b'.repeat(8)] })).toBe(4);
    expect(estimateTokens({ input: [1, 2, 3] })).toBe(3);
    expect(estimateTokens({ input: [[1, 2], [3]] })).toBe(3);
  });

  it('ignores malformed fields instead of throwing', () => {
    expect(() => estimateTokens({ messages: [null, 3, { content: 7 }], tools: 'x', input: {} })).not.toThrow();
  });

  it('grows with the prompt', () => {
    const small = estimateTokens({ messages: [{ role: 'user', content: 'hello' }] });
    const large = estimateTokens({ messages: [{ role: 'user', content: 'hello'.repeat(100) }] });
    expect(large).toBeGreaterThan(small);
  });
});

describe('estimateTokensFromJson', () => {
  it('equals estimateTokens of the parsed body', () => {
    const body = { messages: [{ role: 'user', content: 'hello there' }], tools: [{ type: 'function', function: { name: 'f' } }] };
    expect(estimateTokensFromJson(JSON.stringify(body))).toBe(estimateTokens(body));
  });

  it('is 0 for text that is not a JSON object', () => {
    expect(estimateTokensFromJson('{not json')).toBe(0);
    expect(estimateTokensFromJson('[1,2]')).toBe(0);
    expect(estimateTokensFromJson('null')).toBe(0);
  });
});
