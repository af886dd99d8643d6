/**
 * Provider flavours of the OpenAI loopback (`startOpenAIUpstream({ flavour })`): what Cerebras,
 * Groq, Mistral and DeepSeek do differently from OpenAI, as providers.md §3 records it — the
 * fields each rejects, with that provider's real error status and body shape, and the reasoning
 * field each answers with. Used by the quirk tests to prove the adapter's fixes reach the wire.
 */
type Json = Record<string, unknown>;

export type Flavour = 'cerebras' | 'groq' | 'mistral' | 'deepseek';

export interface Rejection {
  status: number;
  /** The JSON error body, as text. */
  body: string;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const CEREBRAS_REJECTS = ['frequency_penalty', 'presence_penalty', 'logit_bias', 'parallel_tool_calls', 'service_tier'];
const GROQ_REJECTS = ['logprobs', 'logit_bias', 'top_logprobs'];
const MISTRAL_REJECTS = ['n', 'max_completion_tokens'];
const ALNUM9 = /^[a-zA-Z0-9]{9}$/;

/** Why this flavour's provider would refuse the request, in its own error shape; undefined when it accepts it. */
export function flavourRejection(flavour: Flavour, body: Json): Rejection | undefined {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
  switch (flavour) {
    case 'cerebras': {
      const field = CEREBRAS_REJECTS.find((f) => body[f] !== undefined);
      if (field) return cerebras(field, `${field} is not supported at this time.`);
      if (body.tool_choice !== undefined && body.tool_choice !== 'auto' && body.tool_choice !== 'none') {
        return cerebras('tool_choice', 'Only "auto" and "none" are supported for tool_choice.');
      }
      return undefined;
    }
    case 'groq': {
      const field = GROQ_REJECTS.find((f) => body[f] !== undefined);
      if (field) return groq(`${field} is not supported`, field);
      if (body.n !== undefined && body.n !== 1) return groq("'n' : number must be at most 1", 'n');
      const named = messages.findIndex((m) => m.name !== undefined);
      if (named !== -1) return groq(`'messages.${named}' : for 'role:${String(messages[named]!.role)}' the following must be satisfied[('messages.${named}.name' : property 'name' is unsupported)]`, `messages.${named}.name`);
      return undefined;
    }
    case 'mistral': {
      const field = MISTRAL_REJECTS.find((f) => body[f] !== undefined);
      if (field) return mistralExtra(['body', field], body[field]);
      for (const [i, m] of messages.entries()) {
        if (m.name !== undefined) return mistralExtra(['body', 'messages', i, 'user', 'name'], m.name);
        if (m.role === 'assistant' && m.reasoning_content !== undefined) return mistralExtra(['body', 'messages', i, 'assistant', 'reasoning_content'], m.reasoning_content);
        const ids = [m.tool_call_id, ...(Array.isArray(m.tool_calls) ? m.tool_calls.map((c: unknown) => (isObject(c) ? c.id : undefined)) : [])];
        const bad = ids.find((id) => typeof id === 'string' && !ALNUM9.test(id));
        if (bad !== undefined) {
          return {
            status: 400,
            body: JSON.stringify({ object: 'error', message: `Tool call id was ${String(bad)} but must be a-z, A-Z, 0-9, with a length of 9.`, type: 'invalid_request_error', param: null, code: null }),
          };
        }
      }
      return undefined;
    }
    case 'deepseek': {
      // Thinking mode: an assistant turn that made tool calls must bring its reasoning_content back.
      const missing = messages.findIndex((m) => m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0 && m.reasoning_content === undefined);
      if (missing !== -1) {
        return {
          status: 400,
          body: JSON.stringify({ error: { message: `Missing \`reasoning_content\` field in the assistant message at message index ${missing}.`, type: 'invalid_request_error', param: null, code: 'invalid_request_error' } }),
        };
      }
      return undefined;
    }
  }
}

function cerebras(param: string, message: string): Rejection {
  // Cerebras' flat error shape (no `error` wrapper).
  return { status: 400, body: JSON.stringify({ message, type: 'invalid_request_error', param, code: 'wrong_api_format' }) };
}

function groq(message: string, param: string): Rejection {
  return { status: 400, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param } }) };
}

function mistralExtra(loc: (string | number)[], input: unknown): Rejection {
  return { status: 422, body: JSON.stringify({ detail: [{ type: 'extra_forbidden', loc, msg: 'Extra inputs are not permitted', input }] }) };
}

/** The reasoning field this flavour answers with (Groq: `reasoning`; DeepSeek: `reasoning_content`), or undefined. */
export function flavourReasoningField(flavour: Flavour | undefined): 'reasoning' | 'reasoning_content' | undefined {
  return flavour === 'groq' ? 'reasoning' : flavour === 'deepseek' ? 'reasoning_content' : undefined;
}

/** A tool-call id as this flavour makes them (Mistral: nine alphanumerics). */
export function flavourToolCallId(flavour: Flavour | undefined, sequence: number): string | undefined {
  return flavour === 'mistral' ? ('Mloop' + sequence.toString(36).padStart(4, '0')).slice(-9).padStart(9, 'M') : undefined;
}
