import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelSignal } from '../../src/gateway/cancel-signal.js';
import type { JsonAnswer, Responder } from '../../src/gateway/types.js';
import { collectedAfterGc, exposeGc } from '../support/gc.js';
import { startStack, type Stack } from '../support/stack.js';

/** A client's end that records its JSON answers (what a door's responder does with them, minus the socket). */
function client(): Responder & { statuses: number[] } {
  const statuses: number[] = [];
  return {
    statuses,
    closed: false,
    json(status: number, _answer: JsonAnswer) {
      statuses.push(status);
    },
    streamStart: () => undefined,
    streamChunk: () => true,
    waitDrain: () => Promise.resolve(),
    streamEnd: () => undefined,
    error: () => undefined,
  };
}

/**
 * The real optimizer's gateway, called the way the WebSocket door calls it: the door keeps each
 * request's signal in a Map for as long as the session lives, so the signal must not keep the
 * request's answer path alive once the answer is complete.
 */
describe('Gateway: a request’s signal after its answer (cache and dedupe on)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('holds nothing of the client it answered, as leader of a dedupe flight', async () => {
    const gc = exposeGc();
    const gateway = stack.optimizer.runtime.frontDoor!.gateway;
    const signal = new CancelSignal();
    let responder: ReturnType<typeof client> | undefined = client();
    const held = new WeakRef(responder);
    await gateway.handle(
      {
        requestId: 'req_follow_1',
        agentId: 'follow-test',
        agentType: undefined,
        tenant: 'default',
        endpoint: 'chat.completions',
        body: { model: 'main/test-model', messages: [{ role: 'user', content: `follow ${Date.now()}` }], temperature: 0 },
        stream: false,
        hints: {},
        signal,
      },
      responder,
    );
    expect(responder.statuses).toEqual([200]);
    responder = undefined;
    // `signal` is still held here, as the session's Map holds it; the responder must be collectable.
    expect(await collectedAfterGc(held, gc)).toBe(true);
    expect(signal.aborted).toBe(false);
  });
});
