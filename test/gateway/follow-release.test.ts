import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelSignal } from '../../src/gateway/cancel-signal.js';
import { collectedAfterGc, exposeGc } from '../support/gc.js';
import { recordingResponder, type RecordingResponder } from '../support/recording-responder.js';
import { startStack, type Stack } from '../support/stack.js';

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
    let responder: RecordingResponder | undefined = recordingResponder();
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
    expect(responder.answers.map((a) => a.status)).toEqual([200]);
    responder = undefined;
    // `signal` is still held here, as the session's Map holds it; the responder must be collectable.
    expect(await collectedAfterGc(held, gc)).toBe(true);
    expect(signal.aborted).toBe(false);
  });
});
