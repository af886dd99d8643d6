import { inspect } from 'node:util';

/**
 * A secret value (an API key) that cannot leak by accident: it serialises as
 * `[redacted]` in JSON (logs, the Stately inspector, /health), in `String()` and in
 * `util.inspect`. Only `reveal()` gives the value, at the one place that sends it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}
