import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8's `gc()` without starting the test process with `--expose-gc`: the flag set at run time makes
 * a new context get the function. For tests of what the code lets go of.
 */
export function exposeGc(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Whether `ref`'s target has been collected after a full GC. A WeakRef's target is kept until the
 * current job ends, so this waits for the next event-loop turn first.
 */
export async function collectedAfterGc(ref: WeakRef<object>, gc: () => void): Promise<boolean> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return ref.deref() === undefined;
}
