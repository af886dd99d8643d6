import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/load.js';

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'optimizer-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `content` (an object as JSON, or raw text) to a fresh file and returns its path. */
function fixture(content: unknown): string {
  const file = join(dir, `config-${++counter}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** The ConfigError `fn` throws (fails the test if it throws anything else, or nothing). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const groq = { id: 'groq', provider: 'groq', models: ['llama-3.3-70b-versatile', 'openai/gpt-oss-120b'] };

describe('loadConfig: where the config comes from', () => {
  const originalCwd = process.cwd();
  afterEach(() => process.chdir(originalCwd));

  it('uses every default when the default file does not exist', () => {
    const empty = join(dir, 'empty-cwd');
    mkdirSync(empty, { recursive: true });
    process.chdir(empty);
    expect(loadConfig({}, {})).toEqual(DEFAULTS);
  });

  it('reads ./supervisor.config.json from the working directory by default', () => {
    const cwd = join(dir, 'cwd-with-file');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(cwd, 'supervisor.config.json'), JSON.stringify({ server: { port: 9001 } }));
    process.chdir(cwd);
    expect(loadConfig({}, {}).server.port).toBe(9001);
  });

  it('reads the file named by OPTIMIZER_CONFIG', () => {
    const file = fixture({ server: { port: 9002 } });
    expect(loadConfig({}, { OPTIMIZER_CONFIG: file }).server.port).toBe(9002);
  });

  it('prefers --config over OPTIMIZER_CONFIG', () => {
    const flag = fixture({ server: { port: 9003 } });
    const env = fixture({ server: { port: 9004 } });
    expect(loadConfig({ configPath: flag }, { OPTIMIZER_CONFIG: env }).server.port).toBe(9003);
  });

  it('rejects a missing file that was named explicitly', () => {
    const missing = join(dir, 'nope.json');
    for (const load of [() => loadConfig({ configPath: missing }, {}), () => loadConfig({}, { OPTIMIZER_CONFIG: missing })]) {
      const error = configError(load);
      expect(error.message).toContain(missing);
      expect(error.problems).toEqual([{ path: '', message: 'file not found' }]);
    }
  });
});

describe('loadConfig: merging the file over the defaults', () => {
  it('merges objects field by field and keeps the other defaults', () => {
    const config = loadConfig({ configPath: fixture({ server: { port: 9100 }, cache: { ttlMs: 60_000 } }) }, {});
    expect(config.server).toEqual({ ...DEFAULTS.server, port: 9100 });
    expect(config.cache).toEqual({ ...DEFAULTS.cache, ttlMs: 60_000 });
    expect(config.limits).toEqual(DEFAULTS.limits);
  });

  it('allows a $schema property for editors and drops it', () => {
    const config = loadConfig({ configPath: fixture({ $schema: './supervisor.config.schema.json' }) }, {});
    expect(config).not.toHaveProperty('$schema');
  });

  it('applies per-backend defaults, the preset base URL and key env to each backend', () => {
    const file = fixture({
      backends: [
        { ...groq, timeouts: { headersMs: 120_000 } },
        { id: 'local', provider: 'openai-compatible', baseUrl: 'http://127.0.0.1:9999/v1/', models: ['m'], connections: 8 },
      ],
    });
    const [first, second] = loadConfig({ configPath: file }, {}).backends;
    expect(first).toEqual({
      ...groq,
      baseUrl: 'https://api.groq.com/openai/v1',
      apiKeyEnv: 'GROQ_API_KEY',
      headers: {},
      timeouts: { connectMs: 5_000, headersMs: 120_000, bodyIdleMs: 60_000 },
      connections: 64,
      restart: 'permanent',
      breaker: DEFAULTS.resilience.breaker,
    });
    expect(second?.baseUrl).toBe('http://127.0.0.1:9999/v1'); // trailing slash dropped
    expect(second?.apiKeyEnv).toBeUndefined();
    expect(second?.connections).toBe(8);
  });

  it('replaces arrays, filling each supervision child from the default spec of its id', () => {
    const children = [
      { id: 'store' },
      { id: 'telemetry' },
      { id: 'router' },
      { id: 'backends', intensity: 20 },
      { id: 'sessions', restart: 'transient' },
      { id: 'frontDoor' },
    ];
    const config = loadConfig({ configPath: fixture({ supervision: { children } }) }, {});
    expect(config.supervision.children.map((c) => c.id)).toEqual(['store', 'telemetry', 'router', 'backends', 'sessions', 'frontDoor']);
    expect(config.supervision.children[3]).toEqual({ id: 'backends', restart: 'permanent', strategy: 'one_for_one', intensity: 20, periodMs: 10_000 });
    expect(config.supervision.children[4]?.restart).toBe('transient');
    expect(config.supervision.children[0]).toEqual({ id: 'store', restart: 'permanent' });
  });

  it('accepts aliases and a default model that name served models', () => {
    const file = fixture({
      backends: [groq],
      routing: { aliases: { fast: 'groq/llama-3.3-70b-versatile', oss: 'groq/openai/gpt-oss-120b' }, defaultModel: 'fast' },
    });
    expect(loadConfig({ configPath: file }, {}).routing.defaultModel).toBe('fast');
    const direct = fixture({ backends: [groq], routing: { defaultModel: 'groq/openai/gpt-oss-120b' } });
    expect(loadConfig({ configPath: direct }, {}).routing.defaultModel).toBe('groq/openai/gpt-oss-120b');
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ configPath: fixture({ backends: [groq], agents: [{ id: 'a1', keyEnv: 'A1_KEY' }] }) }, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.backends)).toBe(true);
    expect(Object.isFrozen(config.backends[0]?.timeouts)).toBe(true);
    expect(Object.isFrozen(config.backends[0]?.models)).toBe(true);
    expect(Object.isFrozen(config.supervision.children[0])).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('does not share state with DEFAULTS or between loads', () => {
    const a = loadConfig({ configPath: fixture({ routing: { aliases: {} } }) }, {});
    expect(a.routing.aliases).not.toBe(DEFAULTS.routing.aliases);
    expect(Object.isFrozen(DEFAULTS.routing.aliases)).toBe(true);
  });
});

describe('loadConfig: precedence of port and data dir (flag > env > file > default)', () => {
  const file = () => fixture({ server: { port: 7000 }, store: { path: '/from/file' } });

  it('uses the default when nothing else says', () => {
    const config = loadConfig({ configPath: fixture({}) }, {});
    expect(config.server.port).toBe(8080);
    expect(config.store.path).toBe('./data');
  });

  it('file beats default', () => {
    const config = loadConfig({ configPath: file() }, {});
    expect(config.server.port).toBe(7000);
    expect(config.store.path).toBe('/from/file');
  });

  it('env beats file', () => {
    const config = loadConfig({ configPath: file() }, { PORT: '7001', OPTIMIZER_DATA_DIR: '/from/env' });
    expect(config.server.port).toBe(7001);
    expect(config.store.path).toBe('/from/env');
  });

  it('flag beats env', () => {
    const config = loadConfig({ configPath: file(), port: 7002, dataDir: '/from/flag' }, { PORT: '7001', OPTIMIZER_DATA_DIR: '/from/env' });
    expect(config.server.port).toBe(7002);
    expect(config.store.path).toBe('/from/flag');
  });

  it('treats empty env vars as unset', () => {
    const config = loadConfig({ configPath: file() }, { PORT: '', OPTIMIZER_DATA_DIR: '  ', OPTIMIZER_CONFIG: '' });
    expect(config.server.port).toBe(7000);
    expect(config.store.path).toBe('/from/file');
  });

  it.each(['abc', '70000', '-1', '80.5', '1e3', '8080x'])('rejects PORT=%s naming the env var', (port) => {
    const error = configError(() => loadConfig({ configPath: file() }, { PORT: port }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('/server/port');
    expect(error.problems[0]?.message).toContain('PORT');
  });

  it('rejects an out-of-range port override', () => {
    const error = configError(() => loadConfig({ configPath: file(), port: 65536 }, {}));
    expect(error.problems[0]?.path).toBe('/server/port');
  });
});

describe('loadConfig: runtime', () => {
  it('defaults heapGrowingPercent to 75, takes 0 (V8 decides), and rejects what V8 would not', () => {
    expect(loadConfig({ configPath: fixture({}) }, {}).runtime.heapGrowingPercent).toBe(75);
    expect(loadConfig({ configPath: fixture({ runtime: { heapGrowingPercent: 0 } }) }, {}).runtime.heapGrowingPercent).toBe(0);
    for (const bad of [-1, 1001, 2.5, '100']) {
      const error = configError(() => loadConfig({ configPath: fixture({ runtime: { heapGrowingPercent: bad } }) }, {}));
      expect(error.problems.map((p) => p.path)).toEqual(['/runtime/heapGrowingPercent']);
    }
  });
});

describe('loadConfig: invalid configuration', () => {
  it('throws one ConfigError listing every problem with its path', () => {
    const file = fixture({
      server: { port: 70000, bogus: true },
      cache: { ttlMs: 0 },
      log: { level: 'loud' },
      backends: [
        groq,
        { ...groq, models: ['x'] },
        { id: 'custom', provider: 'openai-compatible', models: ['m'], headers: { Authorization: 'Bearer nope' } },
        { id: 'Bad Id', provider: 'openai', models: [] },
      ],
      agents: [
        { id: 'a', keyEnv: 'A_KEY' },
        { id: 'a', keyEnv: 'A_KEY' },
      ],
      routing: { aliases: { fast: 'groq/not-served', gone: 'nobody/m' }, defaultModel: 'nothing' },
      supervision: {
        strategy: 'all_for_none',
        backoff: { initialMs: 9_000, maxMs: 1_000 },
        children: [{ id: 'store' }, { id: 'store' }, { id: 'router', intensity: 3 }],
      },
    });
    const error = configError(() => loadConfig({ configPath: file }, {}));
    const paths = error.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/server/port',
        '/server/bogus',
        '/cache/ttlMs',
        '/log/level',
        '/backends/1/id',
        '/backends/2/baseUrl',
        '/backends/2/headers/Authorization',
        '/backends/3/id',
        '/backends/3/models',
        '/agents/1/id',
        '/agents/1/keyEnv',
        '/routing/aliases/fast',
        '/routing/aliases/gone',
        '/routing/defaultModel',
        '/supervision/strategy',
        '/supervision/backoff/initialMs',
        '/supervision/children/1/id',
        '/supervision/children/2/intensity',
        '/supervision/children',
      ]),
    );
    expect(error.file).toBe(file);
    expect(error.code).toBe('CONFIG_INVALID');
    // One line per problem, each "<path>: <message>", under a header naming the file.
    const [header, ...lines] = error.message.split('\n');
    expect(header).toContain(file);
    expect(lines).toHaveLength(error.problems.length);
    for (const [i, problem] of error.problems.entries()) expect(lines[i]?.trim()).toBe(`${problem.path}: ${problem.message}`);
    expect(error.message).toContain('missing child "telemetry", "backends", "sessions", "frontDoor"');
    expect(error.message).toContain('does not serve model "not-served"');
  });

  it('checks the metrics settings (retention of at least an hour, a bounded agent label cap)', () => {
    const file = fixture({ metrics: { retentionMs: 60_000, maxAgentLabels: -1, flushIntervalMs: 0, adminOnly: 'yes', labels: {} } });
    const error = configError(() => loadConfig({ configPath: file }, {}));
    expect(error.problems.map((p) => p.path).sort()).toEqual(['/metrics/adminOnly', '/metrics/flushIntervalMs', '/metrics/labels', '/metrics/maxAgentLabels', '/metrics/retentionMs']);
    const ok = loadConfig({ configPath: fixture({ metrics: { maxAgentLabels: 5 } }) }, {});
    expect(ok.metrics).toEqual({ ...DEFAULTS.metrics, maxAgentLabels: 5 });
  });

  it('rejects unknown properties at every level, naming them', () => {
    const file = fixture({ serverr: {}, backends: [{ ...groq, timeout: 5 }], supervision: { children: [{ id: 'store', shutdown: 1 }] } });
    const error = configError(() => loadConfig({ configPath: file }, {}));
    const byPath = new Map(error.problems.map((p) => [p.path, p.message]));
    expect(byPath.get('/serverr')).toMatch(/^unknown property \(allowed: .*server/);
    expect(byPath.get('/backends/0/timeout')).toMatch(/unknown property.*timeouts/);
    expect(byPath.get('/supervision/children/0/shutdown')).toMatch(/unknown property/);
  });

  it('reports required fields by their own path', () => {
    const error = configError(() => loadConfig({ configPath: fixture({ backends: [{ id: 'x' }], agents: [{ id: 'y' }] }) }, {}));
    expect(error.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['/backends/0/provider', '/backends/0/models', '/agents/0/keyEnv']),
    );
  });

  it('never echoes an API key pasted where an env var name belongs', () => {
    const secret = 'sk-live-0123456789abcdefghijklmnop';
    const error = configError(() => loadConfig({ configPath: fixture({ backends: [{ ...groq, apiKeyEnv: secret }] }) }, {}));
    expect(error.problems).toEqual([{ path: '/backends/0/apiKeyEnv', message: expect.stringContaining('env var') as unknown }]);
    expect(error.message).not.toContain(secret);
  });

  it('escapes "/" and "~" in pointer segments', () => {
    const error = configError(() => loadConfig({ configPath: fixture({ routing: { aliases: { 'a~b': 'groq/x' } } }) }, {}));
    expect(error.problems.map((p) => p.path)).toContain('/routing/aliases/a~0b');
  });

  it('reports sections of the wrong type without tripping over them', () => {
    const file = fixture({ server: 5, store: 'x', backends: {}, agents: [1], routing: [], supervision: { children: 'all' } });
    const error = configError(() => loadConfig({ configPath: file, port: 1, dataDir: '/d' }, { PORT: '2' }));
    expect(error.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['/server', '/store', '/backends', '/agents/0', '/routing', '/supervision/children']),
    );
  });

  it('rejects a document that is not an object', () => {
    const error = configError(() => loadConfig({ configPath: fixture('[1, 2]') }, {}));
    expect(error.problems).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });

  it('names the file and the line and column of invalid JSON', () => {
    const file = fixture('{\n  "server": {\n    "port": 8080,\n  }\n}\n');
    const error = configError(() => loadConfig({ configPath: file }, {}));
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/invalid JSON: line 4, column 3/);
  });

  it('names the file of a truncated JSON document', () => {
    const file = fixture('{"server": {');
    const error = configError(() => loadConfig({ configPath: file }, {}));
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/invalid JSON: line 1, column 13/);
  });
});

const repoConfig = resolve(import.meta.dirname, '../../supervisor.config.json');
if (existsSync(repoConfig)) {
  describe('the repository supervisor.config.json', () => {
    it('is valid', () => {
      expect(() => loadConfig({ configPath: repoConfig }, {})).not.toThrow();
    });
  });
}

describe('loadConfig: resilience', () => {
  it('gives each backend the breaker defaults of resilience.breaker, field by field under its own', () => {
    const file = fixture({
      resilience: { breaker: { failureThreshold: 9 } },
      backends: [{ id: 'a', provider: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1', models: ['m'], breaker: { halfOpenProbes: 3 } }],
    });
    const config = loadConfig({ configPath: file }, {});
    expect(config.backends[0]?.breaker).toEqual({ ...DEFAULTS.resilience.breaker, failureThreshold: 9, halfOpenProbes: 3 });
  });

  it('rejects out-of-range breaker and retry settings, never clamps them', () => {
    const file = fixture({
      resilience: { retry: { maxAttempts: 0, baseDelayMs: 500, maxDelayMs: 100 }, breaker: { errorRate: { threshold: 1.5 }, cooldownMs: 9000, maxCooldownMs: 1000 } },
      backends: [{ id: 'a', provider: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1', models: ['m'], breaker: { failureThreshold: 0 } }],
      routing: { fallbacks: { 'a/m': ['b/nope'] } },
    });
    const error = (() => {
      try {
        loadConfig({ configPath: file }, {});
      } catch (e) {
        return e as ConfigError;
      }
    })();
    const paths = error?.problems.map((p) => p.path) ?? [];
    expect(paths).toEqual(
      expect.arrayContaining([
        '/resilience/retry/maxAttempts',
        '/resilience/retry/baseDelayMs',
        '/resilience/breaker/errorRate/threshold',
        '/resilience/breaker/cooldownMs',
        '/backends/0/breaker/failureThreshold',
        '/routing/fallbacks/a~1m/0',
      ]),
    );
  });
});

describe('loadConfig: task routing and the model catalog', () => {
  it('merges routing.tasks per task over the defaults and keeps the default weights', () => {
    const file = fixture({ backends: [groq], routing: { tasks: { code: ['groq/openai/gpt-oss-120b'] }, weights: { cost: 3 } } });
    const config = loadConfig({ configPath: file }, {});
    expect(config.routing.tasks.code).toEqual(['groq/openai/gpt-oss-120b']);
    expect(config.routing.tasks.reasoning).toEqual(DEFAULTS.routing.tasks.reasoning);
    expect(config.routing.weights).toEqual({ ...DEFAULTS.routing.weights, cost: 3 });
    expect(config.routing.longPromptTokens).toBe(0);
  });

  it('accepts catalog entries by model id and by backend/model', () => {
    const catalog = {
      'llama-3.3-70b-versatile': { contextWindow: 131072, inputPerMTok: 0.59, outputPerMTok: 0.79, tasks: ['general', 'long'] },
      'groq/openai/gpt-oss-120b': { inputPerMTok: 0.15 },
    };
    expect(loadConfig({ configPath: fixture({ backends: [groq], catalog }) }, {}).catalog).toEqual(catalog);
    expect(loadConfig({ configPath: fixture({}) }, {}).catalog).toEqual({});
  });

  it('accepts a task entry that is a backend/model, an alias, a bare model id or a known provider', () => {
    const file = fixture({
      backends: [groq],
      routing: { aliases: { fast: 'groq/llama-3.3-70b-versatile' }, tasks: { general: ['fast', 'openai/gpt-oss-120b', 'groq/llama-3.3-70b-versatile', 'provider:xai'] } },
    });
    expect(loadConfig({ configPath: file }, {}).routing.tasks.general).toHaveLength(4);
  });

  it('rejects bad task lists, weights and catalog entries, naming each', () => {
    const file = fixture({
      backends: [groq],
      routing: {
        tasks: { code: ['groq/nope', 'provider:nonesuch', ''], poetry: [] },
        weights: { task: -1, speed: 2 },
        longPromptTokens: 1.5,
      },
      catalog: { 'gpt-x': { contextWindow: 0, inputPerMTok: -1, tasks: ['chat'] }, '': {}, 'gpt-y': { price: 1 } },
    });
    const paths = configError(() => loadConfig({ configPath: file }, {})).problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/routing/tasks/code/0',
        '/routing/tasks/code/1',
        '/routing/tasks/code/2',
        '/routing/tasks/poetry',
        '/routing/weights/task',
        '/routing/weights/speed',
        '/routing/longPromptTokens',
        '/catalog/gpt-x/contextWindow',
        '/catalog/gpt-x/inputPerMTok',
        '/catalog/gpt-x/tasks/0',
        '/catalog/gpt-y/price',
      ]),
    );
  });
});
