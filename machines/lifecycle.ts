import type { AnyActorRef } from 'xstate';

/**
 * XState v5 leaves the children of an actor that errored running (their cleanup never
 * runs), and a non-root actor cannot be stopped through the public API. A supervisor
 * that restarts a crashed child must release what the dead child owned — sockets,
 * timers, in-flight calls — so it stops the dead child's descendants itself, deepest
 * first, through the same internal `_stop()` that XState's own `stopChild` uses.
 * test/machines/supervisor.machine.test.ts pins this behaviour, so an XState upgrade
 * that changes it fails loudly.
 */
export function releaseActorTree(ref: AnyActorRef | undefined): void {
  if (!ref) return;
  const snapshot = ref.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> };
  for (const child of Object.values(snapshot.children ?? {})) releaseActorTree(child);
  (ref as unknown as { _stop(): void })._stop();
}
