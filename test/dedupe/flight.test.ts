import { describe, expect, it } from 'vitest';
import type { CompletedAnswer } from '../../src/cache/answer.js';
import { Flight } from '../../src/dedupe/flight.js';
import { OptimizerError } from '../../src/errors/registry.js';
import type { ResponseMeta } from '../../src/gateway/types.js';
import { collectedAfterGc, exposeGc } from '../support/gc.js';
import { recordingResponder } from '../support/recording-responder.js';

const meta: ResponseMeta = { requestId: 'req_1', backend: 'a', model: 'a/m', routeReason: 'model', cache: 'miss', dedupe: 'leader' };
const completion = { id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' } }], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } };

describe('Flight', () => {
  it('gives every subscriber the answer’s bytes, and keeps it as bytes + token counts, parsing its value again only when read', () => {
    const flight = new Flight('k');
    const leader = recordingResponder();
    const joiner = recordingResponder();
    flight.subscribe({ responder: leader, requestId: 'r1', role: 'leader', stream: false, includeUsage: false });
    flight.subscribe({ responder: joiner, requestId: 'r2', role: 'joined', stream: false, includeUsage: false });
    let settled: CompletedAnswer | undefined;
    flight.onSettled((answer) => (settled = answer));

    const body = Buffer.from(JSON.stringify(completion));
    const tree = JSON.parse(body.toString('utf8')) as unknown;
    flight.json(200, { body, value: tree }, meta);

    for (const c of [leader, joiner]) expect(c.answers.map((a) => [a.status, a.body])).toEqual([[200, body.toString('utf8')]]);
    expect(settled!.tokens).toEqual([7, 2]);
    const value = settled!.value;
    expect(value).toEqual(completion);
    // Not the tree the request path parsed (that one is not retained), and parsed once.
    expect(value).not.toBe(tree);
    expect(settled!.value).toBe(value);
  });

  it('keeps no token counts for an error answer', () => {
    const flight = new Flight('k');
    let settled: CompletedAnswer | undefined;
    flight.onSettled((answer) => (settled = answer));
    const body = Buffer.from('{"error":{"message":"bad"}}');
    flight.json(400, { body, value: JSON.parse(body.toString('utf8')) }, meta);
    expect(settled?.status).toBe(400);
    expect(settled?.tokens).toBeUndefined();
  });

  it('lets go of its settled listeners and its chunks once it has settled: a reference to the flight keeps nothing of its request', async () => {
    const gc = exposeGc();
    const flight = new Flight('k');
    // What a listener's closure holds on the request path: its request's whole context.
    let context: { request: number[] } | undefined = { request: new Array<number>(1000).fill(1) };
    const held = new WeakRef(context);
    flight.onSettled(((ctx: object) => () => void ctx)(context));
    context = undefined;
    flight.streamStart(meta);
    flight.streamChunk('{"choices":[]}', { choices: [] });

    expect(await collectedAfterGc(held, gc)).toBe(false); // in flight: the listener is needed
    flight.streamEnd();
    expect(flight.answer?.chunks).toEqual(['{"choices":[]}']);
    expect(await collectedAfterGc(held, gc)).toBe(true);
  });

  it('lets go of its listeners when it fails too', async () => {
    const gc = exposeGc();
    const flight = new Flight('k');
    let context: object | undefined = { request: new Array<number>(1000).fill(1) };
    const held = new WeakRef(context);
    let told = 0;
    flight.onSettled(((ctx: object) => () => void (ctx && told++))(context));
    context = undefined;
    flight.error(new OptimizerError('UPSTREAM_UNREACHABLE', 'down'));
    flight.error(new OptimizerError('UPSTREAM_UNREACHABLE', 'down again'));
    expect(told).toBe(1);
    expect(await collectedAfterGc(held, gc)).toBe(true);
  });
});
