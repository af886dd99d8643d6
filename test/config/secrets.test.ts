import { describe, expect, it } from 'vitest';
import { readSecret } from '../../src/config/secrets.js';

describe('readSecret', () => {
  it('reads and trims the named env var', () => {
    expect(readSecret('GROQ_API_KEY', { GROQ_API_KEY: '  gsk_abc\n' })).toBe('gsk_abc');
  });

  it('treats no name, an unset var and a blank var alike: no key', () => {
    expect(readSecret(undefined, { X: 'y' })).toBeUndefined();
    expect(readSecret('MISSING', {})).toBeUndefined();
    expect(readSecret('BLANK', { BLANK: ' \t ' })).toBeUndefined();
  });
});
