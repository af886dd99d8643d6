/**
 * Task classification of a `model: "auto"` request: reasoning | code | general | long | embeddings.
 * Deterministic and cheap: it reads fields by name (so the body's key order never matters), counts
 * prompt tokens with the limiter's estimate (which reads lengths, not characters), and scans at most
 * {@link SCAN_CHARS} characters of the last user message for cues.
 *
 * First rule that applies wins:
 * 1. the embeddings endpoint → `embeddings`;
 * 2. the client's hint (`x-task-type` / WS `hints.taskType`);
 * 3. an estimated prompt above the long threshold → `long`;
 * 4. the agent's `type` (config or WS hello), when it names a task (`coder` → code, …);
 * 5. the last user message: code cues (fences, code syntax, language names) or reasoning cues
 *    ("prove", "step by step", maths) scoring at least {@link CUE_THRESHOLD};
 * 6. `general`.
 */
import type { TaskClass } from '../config/types.js';
import { OptimizerError } from '../errors/registry.js';
import type { Endpoint } from '../gateway/types.js';
import { estimateTokens } from '../keys/tokens.js';

/** Every task class, in the order the docs list them. */
export const TASK_CLASSES: readonly TaskClass[] = Object.freeze(['reasoning', 'code', 'general', 'long', 'embeddings']);
const TASK_SET: ReadonlySet<string> = new Set(TASK_CLASSES);

/** Characters of the last user message scanned for cues: its first half and last half of this. */
export const SCAN_CHARS = 4096;
/** Cue points needed before content decides the class. */
export const CUE_THRESHOLD = 2;

/** What the classifier reads of a request. */
export interface ClassifyInput {
  endpoint: Endpoint;
  body: Readonly<Record<string, unknown>>;
  /** `x-task-type` / WS `hints.taskType`, as sent. */
  taskHint: string | undefined;
  /** The agent's `type` (config or WS hello). */
  agentType: string | undefined;
}

/** Why a request got its class (docs/routing.md). */
export type ClassificationSource = 'endpoint' | 'hint' | 'length' | 'agent' | 'content' | 'default';

export interface Classification {
  task: TaskClass;
  source: ClassificationSource;
  /** Estimated prompt tokens (src/keys/tokens.ts). */
  promptTokens: number;
}

/**
 * The task hint as a task class, or undefined when none was given.
 * @throws OptimizerError INVALID_REQUEST (param `x-task-type`) for a value that names no task class,
 *   or `embeddings` on a chat request.
 */
export function parseTaskHint(hint: string | undefined, endpoint: Endpoint): TaskClass | undefined {
  if (hint === undefined) return undefined;
  const task = hint.trim().toLowerCase();
  if (task === '') return undefined;
  if (!TASK_SET.has(task)) {
    throw new OptimizerError('INVALID_REQUEST', `x-task-type '${hint.slice(0, 64)}' is not one of: ${TASK_CLASSES.join(', ')}.`, { param: 'x-task-type' });
  }
  if (task === 'embeddings' && endpoint !== 'embeddings') {
    throw new OptimizerError('INVALID_REQUEST', "x-task-type 'embeddings' only applies to /v1/embeddings.", { param: 'x-task-type' });
  }
  return task as TaskClass;
}

/** Agent types that name a task (lower case, after the exact task names). */
const AGENT_TYPE_TASKS: ReadonlyMap<string, TaskClass> = new Map([
  ['coder', 'code'],
  ['coding', 'code'],
  ['developer', 'code'],
  ['programmer', 'code'],
  ['engineer', 'code'],
  ['reasoner', 'reasoning'],
  ['thinker', 'reasoning'],
  ['planner', 'reasoning'],
  ['researcher', 'reasoning'],
  ['math', 'reasoning'],
  ['chat', 'general'],
  ['assistant', 'general'],
]);

/** The task an agent type names (`code`, `coder`, `reasoning-agent`…), or undefined. */
export function taskOfAgentType(agentType: string | undefined): TaskClass | undefined {
  if (agentType === undefined) return undefined;
  const type = agentType.trim().toLowerCase();
  // `reasoning-agent`, `coder_v2`: the first word decides.
  const word = /^[a-z]+/.exec(type)?.[0] ?? type;
  for (const candidate of [type, word]) {
    if (TASK_SET.has(candidate) && candidate !== 'embeddings' && candidate !== 'long') return candidate as TaskClass;
    const mapped = AGENT_TYPE_TASKS.get(candidate);
    if (mapped) return mapped;
  }
  return undefined;
}

/** Code cues and their points; each counts once. */
const CODE_CUES: readonly (readonly [RegExp, number])[] = [
  [/```/, 3],
  [/\b(?:def|fn|func)\s+\w+\s*\(/, 2],
  [/\bfunction\s*\w*\s*\(|=>\s*[{(\w]/, 2],
  [/\b(?:class|struct|interface|enum|impl)\s+[A-Z]\w*/, 2],
  [/#include\s*[<"]|^\s*import\s+[\w.]+(?:\s+as\s+\w+)?;?\s*$|\bimport\s+.{1,80}?\s+from\s+['"]|^\s*from\s+[\w.]+\s+import\s+\w|\brequire\(\s*['"]|\buse\s+\w+::/m, 2],
  [/\b(?:console\.log|System\.out|printf|println!?)\s*\(|\bprint\(/, 2],
  [/\b(?:const|var)\s+\w+\s*=|\blet\s+(?:mut\s+)?\w+(?:\s*:\s*\w+)?\s*=[^;\n]*;|\bpublic\s+(?:static\s+)?\w+|\breturn\s+[\w(]+;/, 2],
  [/\b(?:select\s+[\w*,\s]+\s+from|insert\s+into|create\s+table)\b/i, 2],
  [/\b(?:traceback|stack ?trace|segfault|nullpointerexception|typeerror|syntaxerror|undefined is not)\b/i, 2],
  [/\b(?:python|javascript|typescript|java|rust|golang|kotlin|swift|ruby|php|c\+\+|c#|haskell|scala|sql|bash|powershell|regex|dockerfile|kubernetes|react|node\.js)\b/i, 1],
  [/\b(?:code|function|method|bug|debug|compile[rs]?|refactor|unit tests?|script|implement|api endpoint|repository|pull request)\b/i, 1],
];

/** Reasoning cues and their points; each counts once. */
const REASONING_CUES: readonly (readonly [RegExp, number])[] = [
  [/\b(?:prove|proof|theorem|lemma|corollary|derive|derivation|deduce)\b/i, 2],
  [/\bstep[ -]by[ -]step\b|\bthink (?:carefully|hard|it through)\b|\bchain of thought\b/i, 2],
  [/\b(?:riddle|logic puzzle|paradox|syllogism)\b/i, 2],
  [/[∑∫√≤≥≠∀∃∈∞π]|\\(?:frac|int|sum|sqrt|forall|exists)\b/, 2],
  [/\b(?:integral|derivative|equation|probability|eigen\w*|polynomial|matrix|prime numbers?|modulo)\b/i, 1],
  [/\b(?:solve|calculate|compute|how many|why does|explain why|what is the (?:probability|expected))\b/i, 1],
  [/\d\s*[+\-*/^×÷]\s*\d/, 1],
];

/** Classifies one request (see the module comment for the rules). Throws what {@link parseTaskHint} throws. */
export function classifyRequest(input: ClassifyInput, longPromptTokens: number): Classification {
  const promptTokens = estimateTokens(input.body);
  if (input.endpoint === 'embeddings') return { task: 'embeddings', source: 'endpoint', promptTokens };
  const hinted = parseTaskHint(input.taskHint, input.endpoint);
  if (hinted) return { task: hinted, source: 'hint', promptTokens };
  if (promptTokens > longPromptTokens) return { task: 'long', source: 'length', promptTokens };
  const byAgent = taskOfAgentType(input.agentType);
  if (byAgent) return { task: byAgent, source: 'agent', promptTokens };
  const byContent = classifyText(lastUserText(input.body));
  if (byContent) return { task: byContent, source: 'content', promptTokens };
  return { task: 'general', source: 'default', promptTokens };
}

/** `code` or `reasoning` when the text's cues reach the threshold (code wins a tie), else undefined. */
export function classifyText(text: string): 'code' | 'reasoning' | undefined {
  if (text.length === 0) return undefined;
  const code = cuePoints(text, CODE_CUES);
  const reasoning = cuePoints(text, REASONING_CUES);
  if (code >= CUE_THRESHOLD && code >= reasoning) return 'code';
  if (reasoning >= CUE_THRESHOLD) return 'reasoning';
  return undefined;
}

function cuePoints(text: string, cues: readonly (readonly [RegExp, number])[]): number {
  let points = 0;
  for (const [pattern, value] of cues) if (pattern.test(text)) points += value;
  return points;
}

/**
 * The text of the last user message, bounded to SCAN_CHARS (its start and its end: the ask is
 * usually at one of them). Content parts' texts are joined until the bound is reached.
 */
export function lastUserText(body: Readonly<Record<string, unknown>>): string {
  const messages = body['messages'];
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const message: unknown = messages[i];
    if (!isRecord(message) || message['role'] !== 'user') continue;
    const content = message['content'];
    if (typeof content === 'string') return bounded(content);
    if (!Array.isArray(content)) return '';
    let text = '';
    for (const part of content) {
      if (!isRecord(part) || typeof part['text'] !== 'string') continue;
      text += (text ? '\n' : '') + (part['text'] as string).slice(0, SCAN_CHARS);
      if (text.length >= SCAN_CHARS * 2) break;
    }
    return bounded(text);
  }
  return '';
}

function bounded(text: string): string {
  if (text.length <= SCAN_CHARS) return text;
  const half = SCAN_CHARS / 2;
  return `${text.slice(0, half)}\n${text.slice(text.length - half)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
