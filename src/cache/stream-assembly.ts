/**
 * Conversions between a streamed chat completion and a complete one, so that an answer
 * produced in one form can be replayed in the other (the request key ignores `stream`).
 */

type Json = Record<string, unknown>;

interface ToolCallAcc {
  id?: string;
  type?: string;
  function: { name: string; arguments: string };
}

/** Builds the `chat.completion` object that a stream of `chat.completion.chunk`s adds up to. */
export function assembleCompletion(chunks: readonly unknown[]): Json {
  let id: unknown;
  let created: unknown;
  let model: unknown;
  let systemFingerprint: unknown;
  let usage: unknown = null;
  const choices = new Map<number, { role: string; content: string | null; reasoning: string | null; toolCalls: Map<number, ToolCallAcc>; finish: unknown; logprobs: unknown }>();
  for (const raw of chunks) {
    const chunk = raw as Json;
    id ??= chunk.id;
    created ??= chunk.created;
    model ??= chunk.model;
    systemFingerprint ??= chunk.system_fingerprint;
    if (chunk.usage) usage = chunk.usage;
    for (const c of (chunk.choices as Json[] | undefined) ?? []) {
      const index = typeof c.index === 'number' ? c.index : 0;
      let acc = choices.get(index);
      if (!acc) {
        acc = { role: 'assistant', content: null, reasoning: null, toolCalls: new Map(), finish: null, logprobs: null };
        choices.set(index, acc);
      }
      const delta = (c.delta as Json | undefined) ?? {};
      if (typeof delta.role === 'string') acc.role = delta.role;
      if (typeof delta.content === 'string') acc.content = (acc.content ?? '') + delta.content;
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === 'string') acc.reasoning = (acc.reasoning ?? '') + reasoning;
      for (const call of (delta.tool_calls as Json[] | undefined) ?? []) {
        const callIndex = typeof call.index === 'number' ? call.index : acc.toolCalls.size;
        let tool = acc.toolCalls.get(callIndex);
        if (!tool) {
          tool = { function: { name: '', arguments: '' } };
          acc.toolCalls.set(callIndex, tool);
        }
        if (typeof call.id === 'string') tool.id = call.id;
        if (typeof call.type === 'string') tool.type = call.type;
        const fn = call.function as Json | undefined;
        if (typeof fn?.name === 'string') tool.function.name += fn.name;
        if (typeof fn?.arguments === 'string') tool.function.arguments += fn.arguments;
      }
      if (c.finish_reason) acc.finish = c.finish_reason;
      if (c.logprobs) acc.logprobs = c.logprobs;
    }
  }
  const completion: Json = {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [...choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, acc]) => {
        const message: Json = { role: acc.role, content: acc.content };
        if (acc.reasoning !== null) message.reasoning_content = acc.reasoning;
        if (acc.toolCalls.size > 0) {
          message.tool_calls = [...acc.toolCalls.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, t]) => ({ id: t.id, type: t.type ?? 'function', function: t.function }));
        }
        return { index, message, logprobs: acc.logprobs, finish_reason: acc.finish };
      }),
    usage,
  };
  if (systemFingerprint !== undefined) completion.system_fingerprint = systemFingerprint;
  return completion;
}

/**
 * The chunks a complete `chat.completion` would have streamed as: a role chunk, the
 * content, the tool calls, a finish chunk per choice, and the usage chunk when asked.
 */
export function synthesizeChunks(completion: Json, includeUsage: boolean): Json[] {
  const base = { id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model };
  const chunks: Json[] = [];
  const withUsage = (chunk: Json): Json => (includeUsage ? { ...chunk, usage: null } : chunk);
  for (const choice of (completion.choices as Json[] | undefined) ?? []) {
    const index = choice.index ?? 0;
    const message = (choice.message as Json | undefined) ?? {};
    chunks.push(withUsage({ ...base, choices: [{ index, delta: { role: message.role ?? 'assistant', content: '' }, logprobs: null, finish_reason: null }] }));
    const reasoning = message.reasoning_content ?? message.reasoning;
    if (typeof reasoning === 'string' && reasoning !== '') {
      chunks.push(withUsage({ ...base, choices: [{ index, delta: { reasoning_content: reasoning }, logprobs: null, finish_reason: null }] }));
    }
    if (typeof message.content === 'string' && message.content !== '') {
      chunks.push(withUsage({ ...base, choices: [{ index, delta: { content: message.content }, logprobs: null, finish_reason: null }] }));
    }
    const toolCalls = message.tool_calls as Json[] | undefined;
    if (toolCalls?.length) {
      const delta = { tool_calls: toolCalls.map((call, i) => ({ index: i, id: call.id, type: call.type ?? 'function', function: call.function })) };
      chunks.push(withUsage({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: null }] }));
    }
    chunks.push(withUsage({ ...base, choices: [{ index, delta: {}, logprobs: null, finish_reason: choice.finish_reason ?? 'stop' }] }));
  }
  if (includeUsage && completion.usage) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}

/** Whether a chunk is the usage-only chunk of `stream_options.include_usage`. */
export function isUsageChunk(chunk: unknown): boolean {
  const c = chunk as Json;
  return Array.isArray(c.choices) && c.choices.length === 0 && c.usage !== undefined && c.usage !== null;
}
