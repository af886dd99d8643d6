import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonErrorPosition } from '../../src/config/json-error-position.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('jsonErrorPosition', () => {
  it('finds the line and column of common config mistakes', () => {
    expect(jsonErrorPosition('{\n  "a": 1,\n}')).toEqual({ line: 3, column: 1 }); // trailing comma
    expect(jsonErrorPosition('{"a": tru}')).toEqual({ line: 1, column: 10 });
    expect(jsonErrorPosition('{"a": 1}\n// comment')).toEqual({ line: 2, column: 1 });
    expect(jsonErrorPosition("{'a': 1}")).toEqual({ line: 1, column: 2 });
    expect(jsonErrorPosition('{"a": [1, 2')).toEqual({ line: 1, column: 12 }); // end of input
    expect(jsonErrorPosition('')).toEqual({ line: 1, column: 1 });
  });

  it('agrees with JSON.parse on valid documents', () => {
    fc.assert(fc.property(fc.json(), (text) => jsonErrorPosition(text) === undefined));
  });

  it('agrees with JSON.parse on arbitrary and damaged documents', () => {
    const damaged = fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', 'x', '\n', '\\', '-', '.', 'e'))
      .map(([text, at, insert]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
      });
    fc.assert(
      fc.property(fc.oneof(damaged, fc.string()), (text) => {
        expect(jsonErrorPosition(text) === undefined).toBe(parses(text));
      }),
      { numRuns: 2000 },
    );
  });
});
