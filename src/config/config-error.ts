/**
 * The one error a bad configuration produces: every problem found, each with the JSON pointer of
 * the field at fault, so an operator fixes the file in one pass.
 */

/** One thing wrong with the configuration. */
export interface ConfigProblem {
  /** JSON pointer into the config file (`/backends/0/id`); `''` for the document itself. */
  path: string;
  message: string;
}

/** Thrown by `loadConfig` when the file, the env or the flags are invalid. Match on `code`. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  /** Every problem, in the order found (schema first, then cross-field checks). */
  readonly problems: readonly ConfigProblem[];
  /** The config file read, or `undefined` when none was (defaults only). */
  readonly file: string | undefined;

  constructor(file: string | undefined, problems: readonly ConfigProblem[]) {
    super(formatMessage(file, problems));
    this.name = 'ConfigError';
    this.file = file;
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

function formatMessage(file: string | undefined, problems: readonly ConfigProblem[]): string {
  const source = file === undefined ? 'the default configuration' : file;
  const noun = problems.length === 1 ? 'problem' : 'problems';
  const lines = problems.map((p) => `  ${p.path === '' ? '(root)' : p.path}: ${p.message}`);
  return [`Invalid configuration in ${source} (${problems.length} ${noun}):`, ...lines].join('\n');
}
