import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../../src/loopback/openai-upstream.js';
import { runOptimizer, type RunningProcess } from '../support/process.js';
import { eventually } from '../support/stack.js';

const SECRET = 'sk-inspect-never-shown-1234567890';
const ADMIN_SECRET = 'admin-inspect-never-shown-42';
const UNRELATED = 'some-other-env-value-9f8e7d';

/** What the Stately inspector sends (`@statelyai/inspect` 0.7). */
interface InspectionMessage {
  type: string;
  name?: string;
  sessionId?: string;
  event?: { type: string };
}

describe('--inspect: the actors reach the Stately inspector', () => {
  let upstream: OpenAIUpstream;
  let dir: string;
  let config: string;
  const running: RunningProcess[] = [];

  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    dir = mkdtempSync(join(tmpdir(), 'optimizer-inspect-'));
    config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ admin: { keyEnv: 'OPT_ADMIN_KEY' }, backends: [{ id: 'up', provider: 'openai-compatible', baseUrl: upstream.url, apiKeyEnv: 'UP_KEY', models: ['test-model'] }] }));
  });
  afterAll(async () => {
    for (const proc of running) if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (args: string[]) => {
    const proc = runOptimizer(['--config', config, '--port', '0', '--data-dir', join(dir, `data-${running.length}`), ...args], { UP_KEY: SECRET, OPT_ADMIN_KEY: ADMIN_SECRET, SOMETHING_ELSE: UNRELATED });
    running.push(proc);
    return proc;
  };
  const stop = async (proc: RunningProcess) => {
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  };

  it('--inspect-url sends actor, snapshot and event inspections to that relay, with keys redacted', async () => {
    const received: string[] = [];
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (ws) => ws.on('message', (data) => received.push(data.toString())));
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const proc = start(['--inspect-url', url]);
      const port = await proc.listening;
      // A request: events to the router, the session, the backend's breaker.
      const answer = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-agent-id': 'inspected' },
        body: JSON.stringify({ model: 'up/test-model', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(answer.status).toBe(200);
      const parsed = () => received.map((text) => JSON.parse(text) as InspectionMessage);
      const actors = () => new Set(parsed().filter((m) => m.type === '@xstate.actor').map((m) => m.name));
      // Actors are named by their ids: the root supervisor, the children of the tree, the backend `up`
      // with its transport and breaker, and the session of the agent that just called.
      const expected = ['supervisor', 'store', 'telemetry', 'backends', 'up', 'transport', 'breaker', 'router', 'sessions', 'frontDoor', 'inspected'];
      await eventually(() => expected.every((name) => actors().has(name)), 10_000, 'every actor of the tree');
      expect(parsed().some((m) => m.type === '@xstate.snapshot')).toBe(true);
      await eventually(() => parsed().some((m) => m.type === '@xstate.event' && m.event?.type === 'breaker.outcome'), 10_000, 'the breaker hearing the outcome');
      expect(proc.stdout.some((l) => l.includes('"inspector.started"') && l.includes(url))).toBe(true);
      await stop(proc);
      // Regression: actor inputs carry the runtime, and through it process.env and the admin key.
      for (const secret of [SECRET, ADMIN_SECRET, UNRELATED]) expect(received.some((text) => text.includes(secret))).toBe(false);
      expect(received.some((text) => text.includes('[redacted]'))).toBe(true);
    } finally {
      server.close();
    }
  });

  it('--inspect starts a loopback relay: its page embeds the inspector, and a browser connecting late gets what was sent', async () => {
    const proc = start(['--inspect', '--inspect-port', '0']);
    await proc.listening;
    await eventually(() => proc.stdout.some((l) => l.includes('"inspector.started"')), 5000, 'the inspector log line');
    const line = JSON.parse(proc.stdout.find((l) => l.includes('"inspector.started"'))!) as { url: string; page: string };
    expect(line.page).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.url).toBe(line.page.replace('http', 'ws'));

    const page = await fetch(line.page);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');

    // A "browser" connecting now gets the replay of what the optimizer already sent.
    const browser = new WebSocket(line.url);
    const messages: InspectionMessage[] = [];
    browser.on('message', (data) => messages.push(JSON.parse(data.toString()) as InspectionMessage));
    await eventually(() => messages.some((m) => m.type === '@xstate.actor' && m.name === 'breaker'), 10_000, 'the replayed breaker actor');
    browser.close();
    await stop(proc);
  });
});
