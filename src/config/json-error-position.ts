/**
 * Where a JSON text stops being JSON. V8's `JSON.parse` errors on Node 20 often give no position
 * ("Unexpected token '}', ... is not valid JSON"); this scanner finds it so a config error can name
 * the line and column.
 */

/** Line and column (both 1-based) of the first syntax error in `text`, or `undefined` if it is valid JSON. */
export function jsonErrorPosition(text: string): { line: number; column: number } | undefined {
  const offset = firstErrorOffset(text);
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

class SyntaxAt {
  constructor(readonly offset: number) {}
}

function firstErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxAt(i);
  };
  const skipWhitespace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const expectLiteral = (word: string): void => {
    for (const char of word) {
      if (text[i] !== char) fail();
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      const char = text[i];
      if (char === undefined || char < ' ') fail();
      i++;
      if (char === '"') return;
      if (char === '\\') {
        const escape = text[i];
        if (escape === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
        } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) i++;
        else fail();
      }
    }
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text[i] ?? '')) fail();
    while (/[0-9]/.test(text[i] ?? '')) i++;
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const value = (): void => {
    skipWhitespace();
    const char = text[i];
    if (char === '{') return members('}', true);
    if (char === '[') return members(']', false);
    if (char === '"') return string();
    if (char === 't') return expectLiteral('true');
    if (char === 'f') return expectLiteral('false');
    if (char === 'n') return expectLiteral('null');
    if (char === '-' || /[0-9]/.test(char ?? '')) return number();
    fail();
  };
  const members = (close: string, keyed: boolean): void => {
    i++; // opening bracket
    skipWhitespace();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      if (keyed) {
        skipWhitespace();
        if (text[i] !== '"') fail();
        string();
        skipWhitespace();
        if (text[i] !== ':') fail();
        i++;
      }
      value();
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        return;
      }
      fail();
    }
  };

  try {
    value();
    skipWhitespace();
    if (i < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxAt) return error.offset;
    throw error;
  }
}
