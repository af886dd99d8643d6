import { describe, expect, it } from 'vitest';
import { createActor, fromCallback } from 'xstate';
import { backendMachine } from '../../machines/backend.machine.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { BackendConfig } from '../../src/config/types.js';
import { Secret } from '../../src/config/secret.js';
import { OptimizerError } from '../../src/errors/registry.js';
import type { BackendInput, BackendStats, UpstreamCall } from '../../src/upstream/types.js';

const KEY = 'sk-live-0123456789abcdef';

const groq: BackendConfig = {
  id: 'groq',
  provider: 'groq',
  baseUrl: 'https://api.groq.com/openai/v1',
  apiKeyEnv: 'GROQ_API_KEY',
  models: ['llama-3.3-70b-versatile', 'qwen-qwq-32b'],
  headers: {},
  timeouts: { connectMs: 1000, headersMs: 5000, bodyIdleMs: 5000 },
  connections: 4,
  restart: 'permanent',
  breaker: DEFAULTS.resilience.breaker,
};

/** A transport that records what it is given and settles calls when the test says so. */
function fakeTransport() {
  const calls: UpstreamCall[] = [];
  const inputs: BackendInput[] = [];
  let stops = 0;
  let sendBack: ((event: BackendStats) => void) | undefined;
  const logic = fromCallback<{ type: 'backend.call'; call: UpstreamCall }, BackendInput>(({ input, receive, sendBack: send }) => {
    inputs.push(input);
    sendBack = send;
    receive((event) => void calls.push(event.call));
    return () => void stops++;
  });
  const report = (stats: Omit<BackendStats, 'type'>) => {
    if (!sendBack) throw new Error('the transport was never started');
    sendBack({ type: 'backend.stats', ...stats });
  };
  return { logic, calls, inputs, report, stops: () => stops };
}

interface Outcome {
  resolved: unknown[];
  rejected: OptimizerError[];
}

function call(outcome: Outcome, path = '/chat/completions'): UpstreamCall {
  return {
    method: 'POST',
    path,
    body: '{"model":"llama-3.3-70b-versatile","messages":[]}',
    stream: false,
    resolve: (response) => void outcome.resolved.push(response),
    reject: (error) => void outcome.rejected.push(error),
  };
}

function start(input: Partial<BackendInput> = {}) {
  const transport = fakeTransport();
  const errors: unknown[] = [];
  const actor = createActor(backendMachine.provide({ actors: { transport: transport.logic } }), {
    input: { backend: groq, apiKey: new Secret(KEY), ...input },
  });
  actor.subscribe({ error: (e) => void errors.push(e) });
  actor.start();
  const outcome: Outcome = { resolved: [], rejected: [] };
  const send = (path?: string) => actor.send({ type: 'backend.call', call: call(outcome, path) });
  return { actor, transport, errors, outcome, send, context: () => actor.getSnapshot().context };
}

describe('backend machine', () => {
  it('starts serving, with the transport given its input (the key reachable through reveal)', () => {
    const { actor, transport, context } = start();
    expect(actor.getSnapshot().value).toBe('serving');
    expect(transport.inputs).toHaveLength(1);
    expect(transport.inputs[0]?.backend).toBe(groq);
    expect(transport.inputs[0]?.apiKey?.reveal()).toBe(KEY);
    expect(context()).toMatchObject({
      id: 'groq',
      provider: 'groq',
      models: ['llama-3.3-70b-versatile', 'qwen-qwq-32b'],
      inFlight: 0,
      succeeded: 0,
      failed: 0,
      latencyEwmaMs: undefined,
      lastErrorCode: undefined,
      disabledReason: undefined,
    });
  });

  it('serves a backend without a key (local providers)', () => {
    const { actor, transport } = start({ apiKey: undefined });
    expect(actor.getSnapshot().value).toBe('serving');
    expect(transport.inputs[0]?.apiKey).toBeUndefined();
  });

  it('forwards each call it is sent to the transport, in order', () => {
    const { transport, send } = start();
    send('/chat/completions');
    send('/embeddings');
    expect(transport.calls.map((c) => c.path)).toEqual(['/chat/completions', '/embeddings']);
  });

  it('takes the counters its transport reports', () => {
    const { transport, context } = start();
    transport.report({ inFlight: 2, succeeded: 5, failed: 1, latencyEwmaMs: 42.5, lastErrorCode: 'UPSTREAM_TIMEOUT' });
    expect(context()).toMatchObject({ inFlight: 2, succeeded: 5, failed: 1, latencyEwmaMs: 42.5, lastErrorCode: 'UPSTREAM_TIMEOUT' });
    transport.report({ inFlight: 0, succeeded: 7, failed: 1, latencyEwmaMs: 40, lastErrorCode: 'UPSTREAM_TIMEOUT' });
    expect(context()).toMatchObject({ inFlight: 0, succeeded: 7 });
  });

  it('the disabled state rejects calls with BACKEND_DISABLED naming the reason, without a transport', () => {
    const reason = 'the env var GROQ_API_KEY is unset';
    const { actor, transport, outcome, send, context } = start({ apiKey: undefined, disabledReason: reason });
    expect(actor.getSnapshot().value).toBe('disabled');
    expect(transport.inputs).toEqual([]);
    send();
    send();
    expect(outcome.resolved).toEqual([]);
    expect(outcome.rejected).toHaveLength(2);
    const error = outcome.rejected[0]!;
    expect(error).toBeInstanceOf(OptimizerError);
    expect(error.code).toBe('BACKEND_DISABLED');
    expect(error.status).toBe(503);
    expect(error.message).toBe(`Backend groq is disabled: ${reason}`);
    expect(error.details).toEqual({ backend: 'groq' });
    expect(context()).toMatchObject({ inFlight: 0, succeeded: 0, failed: 0, disabledReason: reason });
  });

  it('debug.crash errors the actor', () => {
    const { actor, errors } = start();
    actor.send({ type: 'debug.crash' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toContain('fault injected into backend:groq');
  });

  it('debug.crash errors a disabled backend too', () => {
    const { actor } = start({ disabledReason: 'no key' });
    actor.send({ type: 'debug.crash' });
    expect(actor.getSnapshot().status).toBe('error');
  });

  it('stops its transport when it stops', () => {
    const { actor, transport } = start();
    actor.stop();
    expect(transport.stops()).toBe(1);
  });

  it('never serialises the API key: the snapshot shows [redacted]', () => {
    const { actor, transport, send } = start();
    send();
    transport.report({ inFlight: 0, succeeded: 0, failed: 1, latencyEwmaMs: 12, lastErrorCode: 'HTTP_401' });
    const contextJson = JSON.stringify(actor.getSnapshot().context);
    expect(contextJson).not.toContain(KEY);
    expect(contextJson).toContain('"apiKey":"[redacted]"');
    expect(JSON.stringify(actor.getSnapshot())).not.toContain(KEY);
    expect(JSON.stringify(actor.getPersistedSnapshot())).not.toContain(KEY);
  });
});
