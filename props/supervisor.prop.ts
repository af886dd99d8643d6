import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, setup, SimulatedClock, type AnyActorRef } from 'xstate';
import { supervisorMachine, type ChildSpec } from '../machines/supervisor.machine.js';

const crashable = setup({}).createMachine({
  on: { crash: { actions: () => { throw new Error('crash'); } } },
});

/**
 * Restart intensity: for any sequence of child crashes over time, the supervisor never
 * restarts more than `intensity` times within any `periodMs` window, and it fails upward
 * only when one more restart would have broken that bound (never early).
 */
describe('supervisor restart intensity (property)', () => {
  it('never exceeds intensity restarts per period, and escalates exactly when it would', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }), // intensity
        fc.integer({ min: 50, max: 2000 }), // periodMs
        fc.constantFrom('one_for_one', 'one_for_all', 'rest_for_one'),
        fc.array(fc.record({ waitMs: fc.integer({ min: 0, max: 1500 }), child: fc.integer({ min: 0, max: 2 }) }), { maxLength: 40 }),
        (intensity, periodMs, strategy, steps) => {
          const clock = new SimulatedClock();
          const children: ChildSpec[] = ['a', 'b', 'c'].map((id) => ({ id, systemId: `p:${id}`, restart: 'permanent', logic: crashable }));
          const actor = createActor(supervisorMachine, {
            clock,
            input: { name: 'prop', strategy, intensity, periodMs, backoff: { initialMs: 1, maxMs: 8 }, children },
          });
          const restartTimes: number[] = [];
          let escalatedAt: number | undefined;
          actor.on('actor.restarted', () => void restartTimes.push(clock.now()));
          actor.subscribe({ error: () => void (escalatedAt = clock.now()) });
          actor.start();

          for (const step of steps) {
            clock.increment(step.waitMs);
            if (escalatedAt !== undefined) break;
            const ref = actor.system.get(`p:${['a', 'b', 'c'][step.child]}`) as AnyActorRef | undefined;
            if (!ref) continue; // in backoff: nothing to crash
            const inWindowBefore = restartTimes.filter((t) => t > clock.now() - periodMs).length;
            ref.send({ type: 'crash' });
            if (escalatedAt !== undefined) {
              // It gave up only because this restart would have been one too many.
              expect(inWindowBefore).toBe(intensity);
            }
          }
          // No window of length periodMs ever holds more than `intensity` restarts.
          for (let i = 0; i < restartTimes.length; i++) {
            const inWindow = restartTimes.filter((t) => t >= restartTimes[i]! && t < restartTimes[i]! + periodMs).length;
            expect(inWindow).toBeLessThanOrEqual(intensity);
          }
          if (escalatedAt === undefined) actor.stop();
        },
      ),
      { numRuns: 300 },
    );
  });
});
