import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED, scrubSecrets } from '../../src/log/logger.js';

const KEY = 'sk-proj-Zq8x7W6v5U4t3S2r1Q0pOnMlKjIhGfEd';

/** A logger writing into an array of parsed lines, plus the raw text. */
function capture(level = 'trace') {
  const raw: string[] = [];
  const logger = createLogger({ level, name: 'test', destination: { write: (line: string) => void raw.push(line) } });
  return {
    logger,
    raw,
    lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level, time, name and msg', () => {
    const { logger, raw, lines } = capture();
    logger.info({ backend: 'groq' }, 'hello');
    expect(raw).toHaveLength(1);
    expect(raw[0]?.endsWith('\n')).toBe(true);
    expect(lines()[0]).toMatchObject({ level: 30, name: 'test', backend: 'groq', msg: 'hello' });
    expect(typeof lines()[0]?.time).toBe('number');
  });

  it('writes nothing below its level', () => {
    const { logger, raw } = capture('warn');
    logger.info({ apiKey: KEY }, 'quiet');
    logger.debug('quieter');
    expect(raw).toHaveLength(0);
    expect(logger.isLevelEnabled('info')).toBe(false);
  });

  it.each([
    ['apiKey', { apiKey: KEY }],
    ['key', { key: KEY }],
    ['*.apiKey', { backend: { id: 'groq', apiKey: KEY } }],
    ['*.key', { agent: { key: KEY } }],
    ['authorization', { authorization: `Bearer ${KEY}` }],
    ['*.authorization', { upstream: { authorization: KEY } }],
    ['headers.authorization', { headers: { authorization: KEY } }],
    ['headers["x-api-key"]', { headers: { 'x-api-key': KEY } }],
    ['headers["x-goog-api-key"]', { headers: { 'x-goog-api-key': KEY } }],
    ['req.headers.authorization', { req: { headers: { authorization: KEY } } }],
    ['req.headers["x-api-key"]', { req: { headers: { 'x-api-key': KEY } } }],
    ['*.headers.authorization', { upstream: { headers: { authorization: KEY } } }],
  ])('censors %s', (_path, object) => {
    const { logger, raw } = capture();
    logger.info(object, 'request');
    expect(raw.join('')).not.toContain(KEY);
    expect(raw.join('')).toContain(REDACTED);
  });

  it('keeps the other fields of a censored object', () => {
    const { logger, lines } = capture();
    logger.info({ backend: { id: 'groq', apiKey: KEY }, headers: { authorization: KEY, 'content-type': 'application/json' } });
    expect(lines()[0]).toMatchObject({
      backend: { id: 'groq', apiKey: REDACTED },
      headers: { authorization: REDACTED, 'content-type': 'application/json' },
    });
  });

  it('scrubs keys out of messages, interpolated values, errors, stacks and causes', () => {
    const { logger, raw, lines } = capture();
    logger.info(`upstream rejected Bearer ${KEY}`);
    logger.warn('calling with %s', `Authorization: Bearer ${KEY}`);
    const error = new Error(`401 for key ${KEY}`, { cause: new Error(`inner Bearer ${KEY}`) });
    logger.error(error); // msg defaults to err.message
    logger.error({ err: error }, 'backend failed');
    logger.error({ err: new AggregateError([new Error(`agg ${KEY}`)], 'all failed') }, 'failover');
    logger.info({ url: `https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA1234567890abcdefghijklmnopqrstu` });
    expect(raw).toHaveLength(6);
    const text = raw.join('');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('AIzaSyA1234567890abcdefghijklmnopqrstu');
    const [first, , direct] = lines(); // every line is still valid JSON
    expect(first?.msg).toBe(`upstream rejected Bearer ${REDACTED}`);
    expect(direct?.msg).toBe(`401 for key ${REDACTED}`);
    expect((direct?.err as { stack: string }).stack).toContain(`401 for key ${REDACTED}`);
  });

  it('scrubs keys in child logger bindings', () => {
    const { logger, raw } = capture();
    logger.child({ token: KEY, note: `Bearer ${KEY}` }).info('child');
    expect(raw.join('')).not.toContain(KEY);
  });
});

describe('scrubSecrets', () => {
  it.each([
    `Bearer ${KEY}`,
    'sk-0123456789abcdef0123456789abcdef',
    'sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef',
    'sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345',
    'gsk_abcdefghijklmnopqrstuvwxyz0123456789ABCDEF',
    'csk-abcdefghijklmnopqrstuvwxyz0123456789',
    'xai-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ',
    'fw_3ZabcdefghijklmnopqrstuvwX',
    'https://x.test/v1?api_key=s3cr3tvalue&model=a',
  ])('hides %s', (secret) => {
    const out = scrubSecrets(`before ${secret} after`);
    expect(out).toContain(REDACTED);
    expect(out.startsWith('before ')).toBe(true);
    expect(out).not.toContain(secret.slice(-12));
  });

  it.each([
    'backend xai-fast failed over to groq',
    'model accounts/fireworks/models/llama-v3p3-70b-instruct',
    'task-1234567890abcdefghijklmnop',
    'the Bearer scheme',
    'session:agent-42 request req_01HZX4',
  ])('leaves ordinary text alone: %s', (text) => {
    expect(scrubSecrets(text)).toBe(text);
  });
});
