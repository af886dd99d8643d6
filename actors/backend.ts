import type { AnyActorRef } from 'xstate';
import type { OptimizerSystem } from './system.js';
import { backendMachine } from '../machines/backend.machine.js';
import type { ChildSpec } from '../machines/supervisor.machine.js';
import { Secret } from '../src/config/secret.js';
import { readSecret } from '../src/config/secrets.js';
import type { BackendConfig } from '../src/config/types.js';
import { OptimizerError } from '../src/errors/registry.js';
import { keyRequired } from '../src/providers/presets.js';
import type { BackendInput, UpstreamCall, UpstreamResponse } from '../src/upstream/types.js';
import { backendTransport, transportOf } from './backend-transport.js';
import type { QuotaTracker } from '../src/resilience/quota.js';
import type { BreakerEmitted } from '../machines/breaker.machine.js';
import type { BreakerRef } from '../src/resilience/breaker-client.js';

/** The backend machine with its undici transport. */
export const backendLogic = backendMachine.provide({ actors: { transport: backendTransport } });

/** System id of a backend's actor. */
export const backendSystemId = (backendId: string): string => `backend:${backendId}`;

/** What a backend actor shares with the rest of the optimizer: its quota knowledge and where breaker events go. */
export interface BackendShared {
  quota?: QuotaTracker;
  onBreakerEvent?: (event: BreakerEmitted) => void;
}

/** Why a backend cannot be used with this env (its provider needs a key and its env var is unset), or `undefined`. */
export function disabledReasonFor(backend: BackendConfig, env: NodeJS.ProcessEnv): string | undefined {
  if (backend.apiKeyEnv === undefined || !keyRequired(backend.provider)) return undefined;
  return readSecret(backend.apiKeyEnv, env) === undefined ? `set the env var ${backend.apiKeyEnv} to its API key` : undefined;
}

/** The backend actor's input: its config, its key from the env, and why it is disabled if it is. */
export function backendInput(backend: BackendConfig, env: NodeJS.ProcessEnv, shared: BackendShared = {}): BackendInput {
  const key = readSecret(backend.apiKeyEnv, env);
  const input: BackendInput = { backend, apiKey: key === undefined ? undefined : new Secret(key), ...shared };
  const disabledReason = disabledReasonFor(backend, env);
  if (disabledReason !== undefined) input.disabledReason = disabledReason;
  return input;
}

/** The supervisor's child spec for one backend. */
export function backendSpec(backend: BackendConfig, env: NodeJS.ProcessEnv, shared: BackendShared = {}): ChildSpec {
  return {
    id: backend.id,
    systemId: backendSystemId(backend.id),
    restart: backend.restart,
    logic: backendLogic,
    input: backendInput(backend, env, shared),
  };
}

/** The breaker of a running backend actor, if it has one (a disabled or restarting backend has none). */
export function breakerOf(system: OptimizerSystem, backendId: string): BreakerRef | undefined {
  const ref = system.get(backendSystemId(backendId)) as AnyActorRef | undefined;
  const snapshot = ref?.getSnapshot() as { status: string; children: Record<string, AnyActorRef | undefined> } | undefined;
  if (snapshot?.status !== 'active') return undefined;
  return snapshot.children.breaker as BreakerRef | undefined;
}

/**
 * Sends one call to a backend and resolves with the response head. The call goes
 * straight to the backend actor's running transport (a function call, no message or machine
 * transition on the hot path); without one, to the actor, which answers it. A backend whose
 * actor is down (crashed, restarting) fails at once with
 * BACKEND_UNAVAILABLE; a disabled one with BACKEND_DISABLED.
 */
export function callBackend(system: OptimizerSystem, backendId: string, call: Omit<UpstreamCall, 'resolve' | 'reject'>): Promise<UpstreamResponse> {
  const transport = transportOf(system, backendId);
  // Field by field, not `{ ...call }`: that spread took V8's slow path, ≈ 1% of the pass-through's CPU
  // (profile: line ticks), as in planRoute and Flight's meta. Every field of UpstreamCall is here.
  if (transport) return new Promise((resolve, reject) => transport({ method: call.method, path: call.path, body: call.body, signal: call.signal, stream: call.stream, resolve, reject }));
  return new Promise((resolve, reject) => {
    const ref = system.get(backendSystemId(backendId)) as AnyActorRef | undefined;
    const snapshot = ref?.getSnapshot() as { status: string; children: Record<string, AnyActorRef | undefined> } | undefined;
    if (!ref || snapshot?.status !== 'active') {
      reject(new OptimizerError('BACKEND_UNAVAILABLE', `Backend ${backendId} is restarting; retry shortly.`, { details: { backend: backendId } }));
      return;
    }
    const event = { type: 'backend.call' as const, call: { ...call, resolve, reject } };
    const transport = snapshot.children.transport;
    // Without a transport (disabled), the machine answers the call itself.
    (transport ?? ref).send(event);
  });
}
