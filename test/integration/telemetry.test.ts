import { describe, expect, it } from 'vitest';
import { startStack } from '../support/stack.js';

describe('the event log', () => {
  it('keeps per-request events out of the info log, and logs operational ones', async () => {
    const stack = await startStack({ config: { log: { level: 'info' }, dedupe: { enabled: false }, admin: { allowFaultInjection: true } } });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'main/test-model', messages: [{ role: 'user', content: `n${i}` }] }),
        });
        expect(response.status).toBe(200);
      }
      await fetch(`${stack.optimizer.url}/admin/actors/backend:main/crash`, { method: 'POST' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const events = stack.logs.filter((l) => l.includes('"component":"events"'));
      expect(events.some((l) => l.includes('"backend.succeeded"') || l.includes('"request.completed"'))).toBe(false);
      expect(events.some((l) => l.includes('"actor.restarted"'))).toBe(true);
    } finally {
      await stack.close();
    }
  });
});
