/**
 * A loopback server speaking Ollama's own API: `POST /api/chat` (NDJSON stream by default — one
 * JSON object a line, the last with `done: true`, `done_reason`, the counts and durations in
 * nanoseconds — or one JSON object with `stream: false`), `POST /api/embed` and `GET /api/tags`.
 * Tool calls carry their arguments as a JSON object. It answers `echo: <text of the last user
 * message>` (a tool call when tools are offered and the text contains `call_tool`; `tool said:
 * <result>` after a `tool` message; `thinking` first when `think` is on or the text contains
 * `think`, never with `think: false`). Failures:
 * `{"error":"…"}` with the status (404 for a model it does not have), and mid-stream an
 * `{"error":"…"}` line on a 200.
 */
import type { ServerResponse } from 'node:http';
import { embeddingFor } from './openai-upstream.js';
import {
  sendFrames,
  sendJsonBody,
  sendMalformed,
  splitText,
  startScriptedServer,
  tokensOf,
  type Exchange,
  type NativeBehaviour,
  type NativeUpstream,
  type ScriptedOptions,
} from './scripted-server.js';

type Json = Record<string, unknown>;

export interface OllamaUpstreamOptions extends ScriptedOptions {
  /** Models it has pulled; others get Ollama's 404. Default: any model is served. */
  models?: string[];
  /** Content pieces per streamed answer. Default 3. */
  chunks?: number;
  /** Embedding length without `dimensions`. Default 8. */
  embeddingDimensions?: number;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Ollama's error body for a status. */
export function ollamaErrorBody(status: number, model = 'unknown'): Json {
  if (status === 404) return { error: `model "${model}" not found, try pulling it first` };
  if (status === 429) return { error: 'too many requests' };
  if (status >= 500) return { error: 'llama runner process has terminated: exit status 2' };
  return { error: `request failed with status ${status}` };
}

const CREATED_AT = '2025-01-01T00:00:00.000000000Z';

export function startOllamaUpstream(options: OllamaUpstreamOptions = {}): Promise<NativeUpstream> {
  const chunks = options.chunks ?? 3;
  const dims = options.embeddingDimensions ?? 8;

  const unknownModel = (res: ServerResponse, model: unknown): boolean => {
    if (options.models === undefined || (typeof model === 'string' && options.models.includes(model))) return false;
    sendJsonBody(res, 404, ollamaErrorBody(404, String(model)));
    return true;
  };

  function chat({ res, recorded, behaviour }: Exchange): void {
    const body = recorded.body;
    if (!isObject(body) || typeof body.model !== 'string') return sendJsonBody(res, 400, { error: 'model is required' });
    if (unknownModel(res, body.model)) return;
    const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
    for (const m of messages) {
      if (m.tool_calls !== undefined) {
        for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
          if (!isObject(call) || !isObject(call.function) || !isObject(call.function.arguments)) {
            return sendJsonBody(res, 400, { error: 'json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments' });
          }
        }
      }
    }
    const last = messages[messages.length - 1] ?? {};
    const lastUser = [...messages].reverse().find((m) => m.role === 'user') ?? {};
    const text = typeof lastUser.content === 'string' ? lastUser.content : '';
    const tools = Array.isArray(body.tools) ? body.tools.filter(isObject) : [];
    const toolName = last.role === 'user' && tools.length > 0 && text.includes('call_tool') ? String((tools[0]!.function as Json | undefined)?.name) : undefined;
    const reply = last.role === 'tool' ? `tool said: ${String(last.content)}` : `echo: ${text}`;
    const think = body.think;
    if (think !== undefined && typeof think !== 'boolean' && think !== 'low' && think !== 'medium' && think !== 'high') {
      return sendJsonBody(res, 400, { error: `invalid think value: ${JSON.stringify(think)} (must be "high", "medium", "low", true, or false)` });
    }
    // `think: false` turns thinking off; `true` or a level turns it on (the text may ask for it too).
    const thinking = think !== false && (think !== undefined || text.includes('think')) ? `thinking about: ${text}` : undefined;
    let promptChars = 0;
    for (const m of messages) promptChars += typeof m.content === 'string' ? m.content.length : 0;
    const counts = {
      total_duration: 5_000_000,
      load_duration: 1_000_000,
      prompt_eval_count: tokensOf(promptChars),
      prompt_eval_duration: 1_000_000,
      eval_count: tokensOf(toolName ? text.length + 12 : reply.length),
      eval_duration: 3_000_000,
    };
    const toolCalls = toolName ? [{ function: { name: toolName, arguments: { input: text } } }] : undefined;
    const message = (content: string, extra: Json = {}): Json => ({ role: 'assistant', content, ...extra });

    if (body.stream === false) {
      const extra: Json = {};
      if (thinking) extra.thinking = thinking;
      if (toolCalls) extra.tool_calls = toolCalls;
      const answer = { model: body.model, created_at: CREATED_AT, message: message(toolName ? '' : reply, extra), done_reason: 'stop', done: true, ...counts };
      if (behaviour.kind === 'malformed') sendMalformed(res, answer);
      else sendJsonBody(res, 200, answer);
      return;
    }
    const line = (value: Json) => JSON.stringify(value) + '\n';
    const content: string[] = [];
    if (thinking) content.push(line({ model: body.model, created_at: CREATED_AT, message: message('', { thinking }), done: false }));
    if (toolCalls) content.push(line({ model: body.model, created_at: CREATED_AT, message: message('', { tool_calls: toolCalls }), done: false }));
    else for (const piece of splitText(reply, chunks)) content.push(line({ model: body.model, created_at: CREATED_AT, message: message(piece), done: false }));
    const tail = [line({ model: body.model, created_at: CREATED_AT, message: message(''), done_reason: 'stop', done: true, ...counts })];
    const error = behaviour.kind === 'stream-error' ? (behaviour.message ?? 'an error was encountered while running the model: unexpected EOF') : '';
    sendFrames(res, 'application/x-ndjson', { head: [], content, tail }, behaviour, {
      errorFrame: line({ error }),
      badFrame: '{"model":"broken","message":{\n',
    });
  }

  function embed({ res, recorded, behaviour }: Exchange): void {
    const body = recorded.body;
    if (!isObject(body) || typeof body.model !== 'string') return sendJsonBody(res, 400, { error: 'model is required' });
    if (unknownModel(res, body.model)) return;
    const inputs = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input.map(String) : [];
    const size = typeof body.dimensions === 'number' ? body.dimensions : dims;
    const answer = {
      model: body.model,
      embeddings: inputs.map((text) => Array.from(embeddingFor(text, size))),
      total_duration: 2_000_000,
      load_duration: 500_000,
      prompt_eval_count: tokensOf(inputs.join('').length),
    };
    if (behaviour.kind === 'malformed') sendMalformed(res, answer);
    else sendJsonBody(res, 200, answer);
  }

  return startScriptedServer(
    {
      basePath: '',
      preflight({ res, recorded }) {
        if (recorded.method === 'GET' && recorded.path === '/api/tags') {
          const names = options.models ?? [];
          sendJsonBody(res, 200, { models: names.map((name) => ({ name, model: name, modified_at: CREATED_AT, size: 1, digest: 'sha256:loopback' })) });
          return true;
        }
        if (recorded.method !== 'POST' || (recorded.path !== '/api/chat' && recorded.path !== '/api/embed')) {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('404 page not found');
          return true;
        }
        return false;
      },
      answer(exchange) {
        const { res, recorded, behaviour } = exchange;
        if (behaviour.kind === 'status') {
          const headers: Record<string, string> = { ...(behaviour.headers ?? {}) };
          if (behaviour.retryAfterSeconds !== undefined) headers['retry-after'] = String(behaviour.retryAfterSeconds);
          const model = isObject(recorded.body) ? recorded.body.model : undefined;
          sendJsonBody(res, behaviour.status, behaviour.body ?? ollamaErrorBody(behaviour.status, String(model)), headers);
          return;
        }
        if (recorded.path === '/api/embed') embed(exchange);
        else chat(exchange);
      },
    },
    options,
  );
}

export type { NativeBehaviour, NativeUpstream };
