import { describe, expect, it } from 'vitest';
import { deadLetterAnswer } from '../../src/dlq/answer.js';
import type { DeadLetter, DeadLetterAttempt } from '../../src/dlq/types.js';

const ID = 'dlq_01jdzq8k0m3v5r7t9w1x3y5z7a';

function entry(attempts: DeadLetterAttempt[]): DeadLetter {
  return {
    v: 1,
    id: ID,
    at: 1,
    agentId: 'a',
    tenant: 't',
    endpoint: 'chat.completions',
    body: {},
    hints: {},
    stream: false,
    reason: 'All candidate backends failed',
    attempts,
    replays: [],
  };
}

const attempt = (code: string, message = 'boom'): DeadLetterAttempt => ({ backend: 'groq', model: 'llama', at: 1, code, status: 502, message });

describe('deadLetterAnswer', () => {
  it('is a 502 naming the DLQ id and the last failure when a backend was reached', () => {
    const answer = deadLetterAnswer(entry([attempt('BACKEND_UNAVAILABLE'), attempt('UPSTREAM_TIMEOUT', 'no answer in 30 s')]));
    expect(answer.status).toBe(502);
    expect(answer.message).toBe(
      `All candidate backends failed (2 attempts). The request is kept in the dead-letter queue as ${ID} and can be replayed by an operator.` +
        ' Last failure: groq (llama) UPSTREAM_TIMEOUT: no answer in 30 s',
    );
  });

  it('is a 503 when no backend could be reached at all', () => {
    expect(deadLetterAnswer(entry([attempt('BACKEND_UNAVAILABLE'), attempt('BACKEND_DISABLED')])).status).toBe(503);
    expect(deadLetterAnswer(entry([])).message).toContain('(0 attempts)');
  });

  it('counts a candidate skipped for its own rate limit as not reached (a breaker skip and a limit skip: 503)', () => {
    expect(deadLetterAnswer(entry([attempt('BACKEND_UNAVAILABLE'), attempt('RATE_LIMITED')])).status).toBe(503);
    expect(deadLetterAnswer(entry([attempt('UPSTREAM_ERROR'), attempt('RATE_LIMITED')])).status).toBe(502);
  });

  it('quotes only the start of a long upstream message', () => {
    const { message } = deadLetterAnswer(entry([attempt('UPSTREAM_ERROR', 'x'.repeat(5_000))]));
    expect(message.length).toBeLessThan(600);
    expect(message.endsWith('…')).toBe(true);
  });
});
