/**
 * The call plan of the seed load scenario (bench/seed-load.ts): which agent sends which request,
 * over which transport, streamed or not, and which requests are the same.
 *
 * The mix is explicit: a share of calls picks one of a few shared deterministic tasks
 * (temperature 0: cacheable and dedupable), a share picks one of a few shared non-deterministic
 * tasks (temperature 0.7: not cacheable, but identical requests in flight or within the dedupe
 * window are collapsed), and the rest are unique (a counter, a session id and a timestamp in the
 * text, as real agents' prompts carry). Slots are assigned with a seeded PRNG, so a run is
 * reproducible.
 *
 * Bodies look like what agents send (DESIGN.md §7): a large system prompt per agent type,
 * `max_completion_tokens`, `tools` with `tool_choice: "auto"` for coding tasks, message content as
 * an array of parts for some tasks, `stream_options.include_usage` on streams, and `stream: false`
 * spelled out by some non-streaming callers and left out by others. Two calls of the same task send
 * the same body except for `stream` / `stream_options`, which do not change the answer (the
 * optimizer's request key leaves them out too, src/keys/request-key.ts): a streamed and a plain
 * call of one task are duplicates of each other.
 */
import { seededRandom } from '../../src/resilience/random.js';

export type PromptKind = 'shared-det' | 'shared-nondet' | 'unique';
export type Transport = 'ws-json' | 'ws-msgpack' | 'http';

export interface MixSettings {
  wsAgents: number;
  httpAgents: number;
  callsPerAgent: number;
  /** Percent of calls that send a shared deterministic task. */
  sharedDetPct: number;
  /** Distinct shared deterministic tasks. */
  sharedDetPrompts: number;
  /** Percent of calls that send a shared non-deterministic task. */
  sharedNondetPct: number;
  sharedNondetPrompts: number;
  /** Temperature of the shared non-deterministic tasks. */
  nondetTemperature: number;
  /** Temperature of the unique prompts. */
  uniqueTemperature: number;
  /** Percent of calls that stream. */
  streamPct: number;
  /** Percent of the WebSocket agents that use msgpack binary frames (the rest JSON text frames). */
  wsMsgpackPct: number;
  /** Size of each agent type's system prompt, in bytes. */
  systemPromptBytes: number;
  /** PRNG seed for the assignment of tasks and streams to slots. */
  seed: number;
  /** `fresh`: later waves send new unique prompts; `same`: they repeat the first wave's unique prompts too. */
  laterUnique: 'fresh' | 'same';
}

export interface PlannedCall {
  /** Position in the wave (0-based). */
  index: number;
  agentId: string;
  agentIndex: number;
  callIndex: number;
  transport: Transport;
  kind: PromptKind;
  /** `d3`, `n7`, `u-w1-a12-c4`: which request this is. */
  promptId: string;
  stream: boolean;
  /** The request body as sent (with the stream fields). */
  body: Record<string, unknown>;
  /** What makes two calls the same request: the body without `stream` / `stream_options`. */
  key: string;
  /** Text the answer must contain (the loopback upstream echoes the last user message). */
  tag: string;
}

export const MODEL = 'up/test-model';
const AGENT_TYPES = ['coder', 'researcher', 'reviewer'] as const;

/** mulberry32, seeded: the optimizer's own (src/resilience/random.ts). */
export const prng = seededRandom;

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = xs[i] as T;
    xs[i] = xs[j] as T;
    xs[j] = tmp;
  }
  return xs;
}

/** A deterministic system prompt of about `bytes` bytes for an agent type. */
function systemPrompt(type: string, bytes: number): string {
  const head = `You are a ${type} agent in an automated fleet. Follow the house rules below exactly.\n`;
  const rules: string[] = [];
  let size = head.length;
  for (let i = 1; size < bytes; i++) {
    const rule = `Rule ${i} for the ${type}: keep answers short, cite file paths, never invent APIs, report what you could not verify.\n`;
    rules.push(rule);
    size += rule.length;
  }
  return (head + rules.join('')).slice(0, Math.max(bytes, head.length));
}

const READ_FILE_TOOL = {
  type: 'function',
  function: {
    name: 'read_file',
    description: 'Read a file of the repository.',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
};

interface TaskShape {
  type: string;
  text: string;
  temperature: number;
  parts: boolean;
  tools: boolean;
}

function baseBody(shape: TaskShape, systems: ReadonlyMap<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: MODEL,
    messages: [
      { role: 'system', content: systems.get(shape.type) ?? '' },
      { role: 'user', content: shape.parts ? [{ type: 'text', text: shape.text }] : shape.text },
    ],
    temperature: shape.temperature,
    max_completion_tokens: 1024,
  };
  if (shape.tools) {
    body['tools'] = [READ_FILE_TOOL];
    body['tool_choice'] = 'auto';
  }
  return body;
}

export interface WavePlan {
  wave: number;
  calls: PlannedCall[];
}

export interface Plan {
  /** Shared between waves: slot → kind, prompt, stream. */
  slots: { kind: PromptKind; prompt: number; stream: boolean }[];
  counts: { sharedDet: number; sharedNondet: number; unique: number; streams: number };
  /** Builds wave `n` (1-based). */
  wave(n: number): WavePlan;
}

function pctCount(total: number, pct: number): number {
  return Math.round((total * pct) / 100);
}

/** Evenly spread: agent i of n is in the chosen `pct` share. */
function inShare(i: number, pct: number): boolean {
  const p = pct / 100;
  return Math.floor((i + 1) * p) > Math.floor(i * p);
}

export function makePlan(mix: MixSettings, runNonce: string, runStartIso: string): Plan {
  const agents = mix.wsAgents + mix.httpAgents;
  const total = agents * mix.callsPerAgent;
  const sharedDet = pctCount(total, mix.sharedDetPct);
  const sharedNondet = Math.min(total - sharedDet, pctCount(total, mix.sharedNondetPct));
  const unique = total - sharedDet - sharedNondet;
  const streams = pctCount(total, mix.streamPct);
  const rand = prng(mix.seed);

  const kinds = shuffle(
    [
      ...Array<PromptKind>(sharedDet).fill('shared-det'),
      ...Array<PromptKind>(sharedNondet).fill('shared-nondet'),
      ...Array<PromptKind>(unique).fill('unique'),
    ],
    rand,
  );
  const streamed = shuffle([...Array<boolean>(streams).fill(true), ...Array<boolean>(total - streams).fill(false)], rand);
  let nextDet = 0;
  let nextNondet = 0;
  const slots = kinds.map((kind, i) => {
    let prompt = 0;
    if (kind === 'shared-det') prompt = nextDet++ % Math.max(1, mix.sharedDetPrompts);
    else if (kind === 'shared-nondet') prompt = nextNondet++ % Math.max(1, mix.sharedNondetPrompts);
    return { kind, prompt, stream: streamed[i] ?? false };
  });

  const systems = new Map(AGENT_TYPES.map((t) => [t, systemPrompt(t, mix.systemPromptBytes)]));

  const wave = (n: number): WavePlan => {
    const calls: PlannedCall[] = [];
    for (let a = 0; a < agents; a++) {
      const isWs = a < mix.wsAgents;
      const local = isWs ? a : a - mix.wsAgents;
      const agentId = isWs ? `ws-agent-${local + 1}` : `http-agent-${local + 1}`;
      const transport: Transport = isWs ? (inShare(local, mix.wsMsgpackPct) ? 'ws-msgpack' : 'ws-json') : 'http';
      const agentType = AGENT_TYPES[a % AGENT_TYPES.length] ?? 'coder';
      for (let c = 0; c < mix.callsPerAgent; c++) {
        const index = a * mix.callsPerAgent + c;
        const slot = slots[index];
        if (!slot) throw new Error(`plan: no slot ${index}`);
        let shape: TaskShape;
        let promptId: string;
        if (slot.kind === 'shared-det' || slot.kind === 'shared-nondet') {
          const det = slot.kind === 'shared-det';
          promptId = `${det ? 'd' : 'n'}${slot.prompt}`;
          const type = AGENT_TYPES[slot.prompt % AGENT_TYPES.length] ?? 'coder';
          shape = {
            type,
            text:
              `Task #${promptId}#: ${det ? 'summarise' : 'brainstorm names for'} module ${slot.prompt} of the billing service ` +
              `and list its public functions with one line each.`,
            temperature: det ? 0 : mix.nondetTemperature,
            parts: slot.prompt % 2 === 1,
            tools: type === 'coder',
          };
        } else {
          const w = mix.laterUnique === 'same' ? 1 : n;
          promptId = `u-w${w}-a${a + 1}-c${c + 1}`;
          shape = {
            type: agentType,
            text:
              `Task #${promptId}#: session ${runNonce}-${agentId} at ${runStartIso} step ${c + 1} (wave ${w}): ` +
              `continue the refactoring of file src/part-${a}-${c}.ts.`,
            temperature: mix.uniqueTemperature,
            parts: a % 2 === 1,
            tools: agentType === 'coder',
          };
        }
        const base = baseBody(shape, systems);
        const key = JSON.stringify(base);
        const body: Record<string, unknown> = { ...base };
        if (slot.stream) {
          body['stream'] = true;
          body['stream_options'] = { include_usage: true };
        } else if (index % 2 === 0) {
          body['stream'] = false; // some clients spell it out, others leave it out
        }
        calls.push({
          index,
          agentId,
          agentIndex: a,
          callIndex: c,
          transport,
          kind: slot.kind,
          promptId,
          stream: slot.stream,
          body,
          key,
          tag: `#${promptId}#`,
        });
      }
    }
    return { wave: n, calls };
  };

  return { slots, counts: { sharedDet, sharedNondet, unique, streams }, wave };
}
