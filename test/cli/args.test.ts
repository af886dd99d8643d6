import { describe, expect, it } from 'vitest';
import { parseArgs, USAGE } from '../../src/cli/args.js';

describe('parseArgs', () => {
  it('has every flag off and no override when given nothing', () => {
    expect(parseArgs([])).toEqual({ inspect: false, help: false, version: false });
  });

  it('reads every flag, in both --flag VALUE and --flag=VALUE forms', () => {
    expect(parseArgs(['--config', 'a.json', '--port', '9000', '--data-dir', '/var/lib/opt', '--inspect'])).toEqual({
      configPath: 'a.json',
      port: 9000,
      dataDir: '/var/lib/opt',
      inspect: true,
      help: false,
      version: false,
    });
    expect(parseArgs(['--config=b.json', '--port=0', '--data-dir=d'])).toMatchObject({ configPath: 'b.json', port: 0, dataDir: 'd' });
  });

  it('reads --help, -h, --version and -v', () => {
    expect(parseArgs(['--help']).help).toBe(true);
    expect(parseArgs(['-h']).help).toBe(true);
    expect(parseArgs(['--version']).version).toBe(true);
    expect(parseArgs(['-v']).version).toBe(true);
  });

  it('returns options usable as loadConfig overrides', () => {
    const { configPath, port, dataDir } = parseArgs(['--port', '65535']);
    expect({ configPath, port, dataDir }).toEqual({ configPath: undefined, port: 65535, dataDir: undefined });
  });

  it.each(['abc', '65536', '-1', '80.5', '1e3', '0x50', '8080x', ''])('rejects --port %j naming the flag', (value) => {
    expect(() => parseArgs([`--port=${value}`])).toThrow(/--port/);
  });

  it('rejects an unknown flag, naming it', () => {
    expect(() => parseArgs(['--prot', '80'])).toThrow(/--prot/);
    expect(() => parseArgs(['-x'])).toThrow(/-x/);
  });

  it('rejects a flag missing its value, naming it', () => {
    expect(() => parseArgs(['--config'])).toThrow(/--config/);
    expect(() => parseArgs(['--port', '--inspect'])).toThrow(/--port/);
  });

  it('rejects empty paths', () => {
    expect(() => parseArgs(['--config='])).toThrow(/--config/);
    expect(() => parseArgs(['--data-dir', ' '])).toThrow(/--data-dir/);
  });

  it('rejects positional arguments and values given to boolean flags', () => {
    expect(() => parseArgs(['supervisor.config.json'])).toThrow(/supervisor\.config\.json/);
    expect(() => parseArgs(['--inspect=yes'])).toThrow(/--inspect/);
  });

  it('points to --help in its errors', () => {
    expect(() => parseArgs(['--nope'])).toThrow(/--help/);
  });
});

describe('USAGE', () => {
  it('documents every flag and env override', () => {
    for (const text of ['--config', '--port', '--data-dir', '--inspect', '--help', '--version', 'PORT', 'OPTIMIZER_CONFIG', 'OPTIMIZER_DATA_DIR']) {
      expect(USAGE).toContain(text);
    }
  });

  it('--inspect-url and --inspect-port imply --inspect and are checked', () => {
    expect(parseArgs(['--inspect-url', 'ws://127.0.0.1:9000'])).toEqual({ inspect: true, inspectUrl: 'ws://127.0.0.1:9000', help: false, version: false });
    expect(parseArgs(['--inspect-port', '0'])).toEqual({ inspect: true, inspectPort: 0, help: false, version: false });
    expect(() => parseArgs(['--inspect-url', 'http://x'])).toThrow(/--inspect-url must be a ws/);
    expect(() => parseArgs(['--inspect-port', '70000'])).toThrow(/--inspect-port must be an integer/);
  });
});
