import type { ActorRefFrom } from 'xstate';
import type { breakerMachine, BreakerState } from '../../machines/breaker.machine.js';
import type { ErrorCode, OptimizerError } from '../errors/registry.js';

/**
 * How the request path uses a backend's breaker (machines/breaker.machine.ts):
 *
 * ```ts
 * const ticket = breakerAdmits(breaker);
 * if (!ticket) → skip this backend (next candidate)
 * try { …call…; reportOutcome(breaker, ticket, { ok: true, counted: true, at: clock.now() }) }
 * catch (e) { reportOutcome(breaker, ticket, { ok: false, ...classifyFailure(e), at: clock.now() }) }
 * ```
 *
 * Every admitted call must report exactly one outcome, cancelled ones included
 * (`counted: false`): a half-open breaker frees a probe's slot only when it hears back.
 */

export type BreakerRef = ActorRefFrom<typeof breakerMachine>;

/**
 * An admission: truthy, so `if (!breakerAdmits(ref))` reads as a boolean. `probe` is the
 * half-open period the call was admitted in as a probe, undefined for a closed breaker's call.
 */
export interface BreakerTicket {
  readonly probe: number | undefined;
}

/** The outcome of one admitted call; `at` is the caller's clock in ms. */
export interface CallOutcome {
  ok: boolean;
  /** false: the caller's own fault (4xx) or a cancellation; the breaker ignores it. */
  counted: boolean;
  at: number;
}

/** Shared by every call a closed breaker admits: the hot path allocates nothing. */
const CLOSED_TICKET: BreakerTicket = Object.freeze({ probe: undefined });

/**
 * Whether the breaker lets a call through now, as a ticket to hand back to `reportOutcome`.
 * Closed: admitted, without sending an event. Open: refused. Half-open: asks the machine,
 * which admits while fewer than `halfOpenProbes` probes are in flight. A breaker that is
 * not running (stopped, crashed) refuses: it never silently counts as closed.
 */
export function breakerAdmits(ref: BreakerRef): BreakerTicket | false {
  const snapshot = ref.getSnapshot();
  if (snapshot.status !== 'active') return false;
  const state = snapshot.value as BreakerState;
  if (state === 'closed') return CLOSED_TICKET;
  if (state === 'open') return false;

  let answered = false;
  let ticket: BreakerTicket | false = false;
  ref.send({
    type: 'breaker.acquire',
    reply: (admitted, probe) => {
      if (!answered) {
        answered = true;
        if (admitted) ticket = probe === undefined ? CLOSED_TICKET : { probe };
        return;
      }
      // Answered after we gave up (the breaker was busy, e.g. asked from inside its own
      // `report`): nobody will make this call, so give the probe slot straight back.
      if (admitted && probe !== undefined) ref.send({ type: 'breaker.outcome', ok: false, counted: false, at: 0, probe });
    },
  });
  answered = true;
  return ticket;
}

/** Tell the breaker how an admitted call ended. */
export function reportOutcome(ref: BreakerRef, ticket: BreakerTicket, outcome: CallOutcome): void {
  ref.send({ type: 'breaker.outcome', ok: outcome.ok, counted: outcome.counted, at: outcome.at, probe: ticket.probe });
}

/**
 * The failures that count against a backend; every other code does not.
 * test/resilience/breaker-client.test.ts classifies every code of the registry explicitly,
 * so a new code fails that test until someone decides which side it is on.
 *
 * Counted: the backend's health or our standing with it — 5xx and 408 (UPSTREAM_ERROR, also
 * 402 billing: the account is empty for every caller), timeouts, refused/reset connections,
 * malformed answers, streams that broke, 429 (steering traffic elsewhere is the point), the
 * backend actor being down, and UPSTREAM_AUTH_FAILED: the optimizer's own key is wrong, so
 * every call to this backend will fail until an operator fixes it — opening the breaker
 * steers traffic to working backends and makes the problem visible (`breaker.opened`).
 *
 * Not counted: the caller's fault (UPSTREAM_REJECTED is the backend's 4xx about the request,
 * INVALID_*, too large, not found…), cancellations, our own limits, store and shutdown, and
 * INTERNAL (a bug of ours: blaming the backend would hide it behind "backend down").
 * BACKEND_DISABLED is configuration and CAPABILITY_UNSUPPORTED what an adapter cannot do, both
 * decided before the breaker is asked; ALL_BACKENDS_FAILED
 * sums up attempts whose own errors were reported already.
 */
export const COUNTED_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UPSTREAM_ERROR',
  'UPSTREAM_AUTH_FAILED',
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_UNREACHABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_BAD_RESPONSE',
  'UPSTREAM_STREAM_ERROR',
  'BACKEND_UNAVAILABLE',
]);

/** Whether a failed call counts against its backend's breaker (see COUNTED_FAILURES for the rule). */
export function classifyFailure(error: OptimizerError): { counted: boolean } {
  return { counted: COUNTED_FAILURES.has(error.code) };
}
