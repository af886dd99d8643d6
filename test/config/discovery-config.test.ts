import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig } from '../../src/config/load.js';

describe('config: discovery and backend concurrency', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const load = (file: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), 'discovery-config-'));
    dirs.push(dir);
    const path = join(dir, 'supervisor.config.json');
    writeFileSync(path, JSON.stringify(file));
    return loadConfig({ configPath: path }, {});
  };
  const problems = (file: unknown): string[] => {
    try {
      load(file);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    }
    throw new Error('expected a ConfigError');
  };

  it('defaults: cloud presets off, Ollama on :11434 and vLLM on :8000 probed every 15 s with a 1 s timeout', () => {
    expect(load({}).discovery).toEqual({
      cloudFromEnv: false,
      local: [
        { provider: 'ollama', baseUrl: 'http://127.0.0.1:11434' },
        { provider: 'vllm', baseUrl: 'http://127.0.0.1:8000' },
      ],
      intervalMs: 15_000,
      timeoutMs: 1_000,
    });
  });

  it('a vllm backend gets maxConcurrency 64 unless it sets one; other backends have none', () => {
    const config = load({
      backends: [
        { id: 'gpu', provider: 'vllm', models: ['m'] },
        { id: 'gpu2', provider: 'vllm', models: ['m'], maxConcurrency: 8, maxQueued: 16 },
        { id: 'groq', provider: 'groq', models: ['m'] },
      ],
    });
    expect(config.backends.map((b) => [b.id, b.maxConcurrency, b.maxQueued])).toEqual([
      ['gpu', 64, undefined],
      ['gpu2', 8, 16],
      ['groq', undefined, undefined],
    ]);
  });

  it('normalises probe URLs to server roots and replaces the default list', () => {
    const config = load({ discovery: { local: [{ provider: 'vllm', baseUrl: 'http://10.0.0.5:8000/v1/', maxConcurrency: 4, id: 'lab' }] } });
    expect(config.discovery.local).toEqual([{ provider: 'vllm', baseUrl: 'http://10.0.0.5:8000', maxConcurrency: 4, id: 'lab' }]);
  });

  it('rejects a probe of the same server twice, an id taken by another configured backend, a timeout longer than the interval, bad values', () => {
    expect(
      problems({
        backends: [{ id: 'lab', provider: 'openai-compatible', baseUrl: 'http://10.0.0.9:8000/v1', models: ['m'] }],
        discovery: {
          intervalMs: 500,
          timeoutMs: 1000,
          local: [
            { provider: 'vllm', baseUrl: 'http://10.0.0.5:8000' },
            { provider: 'vllm', baseUrl: 'http://10.0.0.5:8000/v1', id: 'lab' },
            { provider: 'llamacpp', baseUrl: 'http://x:1' },
          ],
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        '/discovery/timeoutMs: must be <= intervalMs (500)',
        '/discovery/local/1/baseUrl: probes the same server as /discovery/local/0',
        '/discovery/local/1/id: "lab" is already the id of a configured backend at another URL',
        '/discovery/local/2/provider: must be one of: "ollama", "vllm", "lmstudio"',
      ]),
    );
    expect(problems({ backends: [{ id: 'gpu', provider: 'vllm', models: ['m'], maxConcurrency: 0 }] })).toEqual(['/backends/0/maxConcurrency: must be >= 1']);
  });
});
