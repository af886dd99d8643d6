import type { InspectionEvent, Observer } from 'xstate';
import { startInspectorRelay, type InspectorRelay } from './relay.js';
import { sanitizeInspection } from './sanitize.js';

export interface InspectOptions {
  /** Send to this relay (`ws://…`) instead of starting one. */
  url?: string;
  /** Port of the local relay to start (0 = any free one). */
  relayPort: number;
  /** Secret values (keys from the env) that must never reach the inspector. */
  secrets: readonly string[];
}

export interface Inspection {
  /** The observer to give `createActor(…, { inspect })`. */
  readonly inspect: Observer<InspectionEvent>;
  /** Where the inspection events go. */
  readonly url: string;
  /** The local relay, when this process started one. */
  readonly relay: InspectorRelay | undefined;
  close(): Promise<void>;
}

/**
 * `--inspect`: connects the actors to the Stately inspector through
 * `@statelyai/inspect`'s WebSocket inspector (0.7: `createWebSocketInspector({ url })`,
 * whose default URL, ws://localhost:8080, would be the optimizer's own port — so a URL is
 * always given). Without `url`, a loopback relay is started first (src/inspect/relay.ts)
 * and its page is where a developer watches the machines. Every event is sanitised first
 * (src/inspect/sanitize.ts): the inspector's UI is hosted online.
 */
export async function startInspection(options: InspectOptions): Promise<Inspection> {
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const relay = options.url === undefined ? await startInspectorRelay(options.relayPort) : undefined;
  const url = options.url ?? relay!.wsUrl;
  const inspector = createWebSocketInspector({ url, serialize: sanitizeInspection(options.secrets) });
  return {
    inspect: inspector.inspect,
    url,
    relay,
    async close() {
      inspector.stop();
      await relay?.close();
    },
  };
}
