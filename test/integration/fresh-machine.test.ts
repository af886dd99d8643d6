import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/health/report.js';
import { deadPort } from '../support/free-port.js';
import { runOptimizer } from '../support/process.js';

/**
 * `npm start` on a fresh machine: the shipped supervisor.config.json, no key in the env, no local
 * server. The shipped Ollama backend and the vLLM probe point at ports where nothing listens (the
 * machine's real 11434 / 8000 may be in use), everything else is the shipped file.
 */
describe('a fresh machine (shipped config, no keys, nothing local)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optimizer-fresh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts, says in its start log line what to set or start, answers /health degraded and requests 503 NO_BACKEND_REACHABLE', async () => {
    const shipped = JSON.parse(readFileSync(new URL('../../supervisor.config.json', import.meta.url), 'utf8')) as {
      backends: { id: string; provider: string; baseUrl?: string }[];
      discovery?: Record<string, unknown>;
    };
    const ollamaPort = await deadPort();
    const vllmPort = await deadPort();
    for (const backend of shipped.backends) if (backend.provider === 'ollama') backend.baseUrl = `http://127.0.0.1:${ollamaPort}/v1`;
    shipped.discovery = { ...shipped.discovery, local: [{ provider: 'ollama', baseUrl: `http://127.0.0.1:${ollamaPort}` }, { provider: 'vllm', baseUrl: `http://127.0.0.1:${vllmPort}` }] };
    const file = join(dir, 'supervisor.config.json');
    writeFileSync(file, JSON.stringify({ ...shipped, $schema: undefined }));

    const proc = runOptimizer(['--config', file, '--port', '0', '--data-dir', join(dir, 'data')]);
    try {
      const port = await proc.listening;
      const hint =
        'set GROQ_API_KEY / CEREBRAS_API_KEY / DEEPSEEK_API_KEY / TOGETHER_API_KEY / MOONSHOT_API_KEY / OPENROUTER_API_KEY, ' +
        `or start Ollama on 127.0.0.1:${ollamaPort} / vLLM on 127.0.0.1:${vllmPort}`;
      await expect.poll(() => proc.stdout.find((line) => line.includes('"backends.none_reachable"'))).toContain(`no backend reachable: ${hint}`);

      const base = `http://127.0.0.1:${port}`;
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      const report = (await health.json()) as HealthReport;
      expect([report.status, report.live, report.ready]).toEqual(['degraded', true, false]);
      expect(report.problems[0]).toBe(`no backend reachable: ${hint}`);

      const answer = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hello?' }] }),
      });
      expect(answer.status).toBe(503);
      const body = (await answer.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: 'NO_BACKEND_REACHABLE', message: `No backend is reachable: ${hint}.` });
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });
});
