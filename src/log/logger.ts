/**
 * The root logger: pino, JSON lines, secrets redacted twice over.
 * 1. Structurally: known secret-bearing fields (`apiKey`, auth headers...) are censored by path.
 * 2. Textually: every written line is scrubbed of `Bearer <token>`, provider-style keys (`sk-...`,
 *    `gsk_...`) and `?api_key=` query values, wherever they hide (messages, `err.message`, stacks,
 *    causes, URLs). This runs once per line actually written, so a disabled level costs nothing.
 * Actors and requests log through `logger.child({ ... })` of this one root.
 */
import pino from 'pino';

/** The optimizer's logger type (a pino logger). */
export type Logger = pino.Logger;

/** What a censored value is replaced with. */
export const REDACTED = '[redacted]';

/** Field paths whose values are censored wherever a logged object has them (pino `redact` syntax). */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  'apiKey',
  'key',
  'token',
  'password',
  '*.apiKey',
  '*.key',
  '*.token',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'headers["x-api-key"]',
  'headers["x-goog-api-key"]',
  'headers["api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-goog-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["x-goog-api-key"]',
]);

/**
 * Secrets in free text. Prefixed keys need a long tail so that ids such as `xai-fast-backend`
 * survive; the token alphabets exclude `"` and `\`, so scrubbing a JSON line keeps it valid JSON.
 */
const SECRET_IN_TEXT =
  /\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{8,}|\b(?:sk|csk|gsk|fw|hf)[-_][A-Za-z0-9_-]{20,}|\bxai-[A-Za-z0-9_-]{32,}|\bAIza[0-9A-Za-z_-]{30,}|([?&](?:api[_-]?key|key|token|access_token)=)[^&#\s"\\]+/gi;

/** `text` with bearer tokens, provider API keys and key-bearing query values replaced by `[redacted]`. */
export function scrubSecrets(text: string): string {
  return text.replace(SECRET_IN_TEXT, (match, scheme?: string, space?: string, query?: string) => {
    if (scheme !== undefined) return `${scheme}${space ?? ' '}${REDACTED}`;
    if (query !== undefined) return `${query}${REDACTED}`;
    return REDACTED;
  });
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** pino level: trace, debug, info, warn, error, fatal or silent. */
  level: string;
  /** Where lines go; stdout when absent. */
  destination?: pino.DestinationStream;
  /** Bound as `name` on every line. */
  name?: string;
}

/** The root logger of the process (JSON lines, secrets redacted). */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    hooks: { streamWrite: scrubSecrets },
  };
  if (options.name !== undefined) pinoOptions.name = options.name;
  return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
}
