/**
 * Command-line flags. They override env vars and the config file (see `loadConfig`).
 */
import { parseArgs as parseNodeArgs } from 'node:util';

/** What the command line asked for. `configPath`, `port` and `dataDir` are `loadConfig` overrides. */
export interface CliOptions {
  configPath?: string;
  port?: number;
  dataDir?: string;
  /** Start the Stately inspector relay and connect every actor to it. */
  inspect: boolean;
  /** `--inspect-url`: send inspection events to this relay (`ws://…`) instead of starting one. Implies `inspect`. */
  inspectUrl?: string;
  /** `--inspect-port`: port of the local inspector relay (default 8090; 0 = any free port). */
  inspectPort?: number;
  help: boolean;
  version: boolean;
}

/** The `--help` text. */
export const USAGE = `Usage: api-optimizer [options]

Options:
  --config PATH     config file (default ./supervisor.config.json; env OPTIMIZER_CONFIG)
  --port N          listen port, 0-65535 (env PORT; overrides server.port)
  --data-dir DIR    store directory (env OPTIMIZER_DATA_DIR; overrides store.path)
  --inspect         attach the Stately inspector to the actors: starts a relay on
                    http://127.0.0.1:8090 (open it in a browser)
  --inspect-port N  port of that relay (0 = any free port)
  --inspect-url URL send the inspection events to a running relay (ws://...) instead
  -h, --help        print this help and exit
  -v, --version     print the version and exit

Backend API keys are read from the env vars named by each backend's apiKeyEnv.`;

const OPTIONS = {
  config: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  inspect: { type: 'boolean', default: false },
  'inspect-url': { type: 'string' },
  'inspect-port': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'v', default: false },
} as const;

/**
 * Parses the flags (without the `node` and script entries: pass `process.argv.slice(2)`).
 * @throws Error naming the flag, for unknown flags, missing values, positionals or a bad port.
 */
export function parseArgs(argv: string[]): CliOptions {
  let values;
  try {
    ({ values } = parseNodeArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\nRun with --help for usage.`, { cause: error });
  }

  const options: CliOptions = { inspect: values.inspect, help: values.help, version: values.version };
  if (values.config !== undefined) options.configPath = nonEmptyFlag('--config', values.config);
  if (values['data-dir'] !== undefined) options.dataDir = nonEmptyFlag('--data-dir', values['data-dir']);
  if (values.port !== undefined) options.port = parsePort(values.port);
  if (values['inspect-url'] !== undefined) {
    const url = nonEmptyFlag('--inspect-url', values['inspect-url']);
    if (!/^wss?:\/\/[^\s]+$/.test(url)) throw new Error(`--inspect-url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
    options.inspectUrl = url;
    options.inspect = true;
  }
  if (values['inspect-port'] !== undefined) {
    options.inspectPort = parsePort(values['inspect-port'], '--inspect-port');
    options.inspect = true;
  }
  return options;
}

function parsePort(text: string, flag = '--port'): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new Error(`${flag} must be an integer from 0 to 65535, got ${JSON.stringify(text)}`);
  }
  return port;
}

function nonEmptyFlag(flag: string, value: string): string {
  if (value.trim() === '') throw new Error(`${flag} needs a non-empty value`);
  return value;
}
