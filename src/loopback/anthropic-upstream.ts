/**
 * A loopback server speaking Anthropic's Messages API exactly (`POST /v1/messages`): it checks
 * `x-api-key` and `anthropic-version`, requires `model`, `max_tokens` and alternating roles that
 * start with `user`, and answers `echo: <text of the last user turn>` (a `tool_use` block when
 * tools are offered and the text contains `call_tool`; `tool said: <result>` after a
 * `tool_result`; a `thinking` block first when thinking is enabled or the text contains `think`).
 * Extended thinking is checked as Anthropic does: a budget of at least 1024 below `max_tokens`,
 * no temperature but 1, no forced tool choice, and in a tool loop the calling assistant turn must
 * start with its thinking block. `GET /v1/models` lists `models`. Streams are SSE with
 * `event:` lines: message_start, ping, content_block_start/delta/stop, message_delta (cumulative
 * usage), message_stop. Failures: the error shapes per status (529 `overloaded_error`, 429
 * `rate_limit_error` with `retry-after` and `anthropic-ratelimit-*` headers whose resets are
 * RFC 3339), the spend-limit 429, and the in-stream `error` event.
 */
import type { ServerResponse } from 'node:http';
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

export interface AnthropicUpstreamOptions extends ScriptedOptions {
  /** When set, requests must carry `x-api-key: <apiKey>`. */
  apiKey?: string;
  /** Content pieces per streamed text block. Default 3. */
  chunks?: number;
  /** Clock for the RFC 3339 resets (tests inject it). Default Date.now. */
  now?: () => number;
  /** Models listed by `GET /v1/models`. Default: two Claude models. */
  models?: string[];
}

const ERROR_TYPES: Record<number, [string, string]> = {
  400: ['invalid_request_error', 'Invalid request.'],
  401: ['authentication_error', 'invalid x-api-key'],
  402: ['billing_error', 'Your credit balance is too low to access the Anthropic API.'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'This request would exceed the rate limit for your organization. Please try again later.'],
  500: ['api_error', 'An unexpected error has occurred internal to Anthropic’s systems.'],
  529: ['overloaded_error', 'Overloaded'],
};

/** Anthropic's error body for a status. */
export function anthropicErrorBody(status: number, message?: string): Json {
  const [type, text] = ERROR_TYPES[status] ?? (status >= 500 ? ['api_error', `Upstream error ${status}.`] : ['invalid_request_error', `Request failed with status ${status}.`]);
  return { type: 'error', error: { type, message: message ?? text }, request_id: 'req_loopback' };
}

/** The 429 that must not be retried: the organisation's monthly spend limit is reached. */
export function anthropicSpendLimitBody(): Json {
  return {
    type: 'error',
    error: { type: 'rate_limit_error', message: 'You have reached your specified API usage limits.', details: { error_code: 'enforced_spend_limit_reached' } },
    request_id: 'req_loopback',
  };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function blocksText(content: unknown, type: 'text' | 'tool_result'): string {
  if (typeof content === 'string') return type === 'text' ? content : '';
  if (!Array.isArray(content)) return '';
  return content
    .filter((b): b is Json => isObject(b) && b.type === type)
    .map((b) => (type === 'text' ? String(b.text) : typeof b.content === 'string' ? b.content : JSON.stringify(b.content)))
    .join('\n');
}

export function startAnthropicUpstream(options: AnthropicUpstreamOptions = {}): Promise<NativeUpstream> {
  const chunks = options.chunks ?? 3;
  const now = options.now ?? Date.now;
  let sequence = 0;

  const rateLimitHeaders = (remaining: number, resetInSeconds: number): Record<string, string> => {
    const reset = new Date(now() + resetInSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': String(remaining),
      'anthropic-ratelimit-requests-reset': reset,
      'anthropic-ratelimit-tokens-limit': '40000',
      'anthropic-ratelimit-tokens-remaining': remaining === 0 ? '0' : '39000',
      'anthropic-ratelimit-tokens-reset': reset,
      'request-id': `req_loopback${sequence}`,
    };
  };

  const fail = (res: ServerResponse, status: number, message?: string) => sendJsonBody(res, status, anthropicErrorBody(status, message));

  function validate(res: ServerResponse, body: unknown): body is Json {
    if (!isObject(body)) return fail(res, 400, 'There was an issue with the format of your request.'), false;
    if (typeof body.model !== 'string') return fail(res, 400, 'model: Field required'), false;
    if (typeof body.max_tokens !== 'number') return fail(res, 400, 'max_tokens: Field required'), false;
    if (!Array.isArray(body.messages) || body.messages.length === 0) return fail(res, 400, 'messages: Field required'), false;
    let expected = 'user';
    for (const [i, m] of body.messages.entries()) {
      if (!isObject(m) || m.role !== expected) {
        return fail(res, 400, `messages.${i}: roles must alternate between "user" and "assistant", starting with "user"`), false;
      }
      expected = expected === 'user' ? 'assistant' : 'user';
    }
    for (const field of ['stream_options', 'n', 'frequency_penalty', 'presence_penalty', 'response_format', 'tool_calls', 'max_completion_tokens', 'reasoning_effort']) {
      if (field in body) return fail(res, 400, `${field}: Extra inputs are not permitted`), false;
    }
    // Extended thinking, as the Messages API checks it.
    const thinking = body.thinking;
    if (thinking !== undefined) {
      if (!isObject(thinking) || (thinking.type !== 'enabled' && thinking.type !== 'disabled')) return fail(res, 400, 'thinking.type: Input should be \'enabled\' or \'disabled\''), false;
      if (thinking.type === 'enabled') {
        const budget = thinking.budget_tokens;
        if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1024) return fail(res, 400, 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024'), false;
        if (budget >= (body.max_tokens as number)) return fail(res, 400, '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size'), false;
        if (body.temperature !== undefined && body.temperature !== 1) return fail(res, 400, '`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking'), false;
        if (isObject(body.tool_choice) && (body.tool_choice.type === 'any' || body.tool_choice.type === 'tool')) return fail(res, 400, 'Thinking may not be enabled when tool_choice forces tool use.'), false;
        // In a tool loop, the assistant turn that called the tool must start with its (signed) thinking block.
        const messages = body.messages as unknown[];
        const assistant = messages[messages.length - 2];
        if (isObject(assistant) && Array.isArray(assistant.content) && assistant.content.some((b) => isObject(b) && b.type === 'tool_use')) {
          const first: unknown = assistant.content[0];
          if (!isObject(first) || (first.type !== 'thinking' && first.type !== 'redacted_thinking')) {
            return fail(res, 400, `messages.${messages.length - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(isObject(first) ? first.type : 'nothing')}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`), false;
          }
        }
      }
    }
    return true;
  }

  function answer({ res, recorded, behaviour }: Exchange): void {
    if (behaviour.kind === 'status') {
      const headers: Record<string, string> = { ...(behaviour.headers ?? {}) };
      if (behaviour.status === 429) {
        const after = behaviour.retryAfterSeconds ?? 1;
        Object.assign(headers, rateLimitHeaders(0, after), { 'retry-after': String(after) }, behaviour.headers ?? {});
      } else if (behaviour.retryAfterSeconds !== undefined) headers['retry-after'] = String(behaviour.retryAfterSeconds);
      sendJsonBody(res, behaviour.status, behaviour.body ?? anthropicErrorBody(behaviour.status), headers);
      return;
    }
    const body = recorded.body;
    if (!validate(res, body)) return;
    const messages = body.messages as Json[];
    const last = messages[messages.length - 1]!;
    const toolResult = blocksText(last.content, 'tool_result');
    const text = blocksText(last.content, 'text');
    const id = `msg_loopback${(++sequence).toString(36)}`;
    const tools = Array.isArray(body.tools) ? body.tools.filter(isObject) : [];
    const choice = isObject(body.tool_choice) ? body.tool_choice : {};
    const toolName = tools.length > 0 && text.includes('call_tool') ? String(choice.type === 'tool' ? choice.name : tools[0]!.name) : undefined;
    const thinkingOn = isObject(body.thinking) && body.thinking.type === 'enabled';
    const thinking = thinkingOn || text.includes('think') ? `thinking about: ${text}` : undefined;
    const reply = toolResult !== '' ? `tool said: ${toolResult}` : `echo: ${text}`;
    let promptChars = typeof body.system === 'string' ? body.system.length : 0;
    for (const m of messages) promptChars += blocksText(m.content, 'text').length + blocksText(m.content, 'tool_result').length;
    const input = tokensOf(promptChars);
    const toolInput = toolName ? JSON.stringify({ input: text }) : '';
    const output = tokensOf((toolName ? toolInput.length : reply.length) + (thinking?.length ?? 0));
    const stopReason = toolName ? 'tool_use' : 'end_turn';
    const usage = { input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 2 };
    const headers = rateLimitHeaders(49, 60);

    if (body.stream !== true) {
      const content: Json[] = [];
      if (thinking) content.push({ type: 'thinking', thinking, signature: 'sig_loopback' });
      if (toolName) content.push({ type: 'tool_use', id: `toolu_loopback${sequence}`, name: toolName, input: { input: text } });
      else content.push({ type: 'text', text: reply });
      const message = { id, type: 'message', role: 'assistant', model: body.model, content, stop_reason: stopReason, stop_sequence: null, usage };
      if (behaviour.kind === 'malformed') sendMalformed(res, message);
      else sendJsonBody(res, 200, message, headers);
      return;
    }

    const event = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const head = [
      event('message_start', {
        message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
      }),
      event('ping', {}),
    ];
    const content: string[] = [];
    let index = 0;
    if (thinking) {
      content.push(event('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } }));
      for (const piece of splitText(thinking, chunks)) content.push(event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } }));
      content.push(event('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'sig_loopback' } }));
      content.push(event('content_block_stop', { index }));
      index++;
    }
    if (toolName) {
      content.push(event('content_block_start', { index, content_block: { type: 'tool_use', id: `toolu_loopback${sequence}`, name: toolName, input: {} } }));
      content.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }));
      for (const piece of splitText(toolInput, chunks)) content.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }));
    } else {
      content.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      const pieces = splitText(reply, chunks);
      pieces.forEach((piece, i) => {
        content.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
        if (i === 0) content.push(event('ping', {}));
      });
    }
    const tail = [
      event('content_block_stop', { index }),
      // Cumulative: the final counts, not an increment.
      event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: output } }),
      event('message_stop', {}),
    ];
    const errorMessage = behaviour.kind === 'stream-error' ? (behaviour.message ?? 'Overloaded') : 'Overloaded';
    sendFrames(res, 'text/event-stream; charset=utf-8', { head, content, tail }, behaviour, {
      errorFrame: event('error', { error: { type: 'overloaded_error', message: errorMessage } }),
      badFrame: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,\n\n',
    }, headers);
  }

  return startScriptedServer(
    {
      basePath: '',
      preflight({ req, res, recorded }) {
        const listing = recorded.method === 'GET' && recorded.path === '/v1/models';
        if (!listing && (recorded.method !== 'POST' || recorded.path !== '/v1/messages')) {
          fail(res, 404, `Not found: ${recorded.method} ${recorded.path}`);
          return true;
        }
        if (options.apiKey !== undefined && req.headers['x-api-key'] !== options.apiKey) {
          fail(res, 401, req.headers['x-api-key'] === undefined ? 'x-api-key header is required' : 'invalid x-api-key');
          return true;
        }
        if (req.headers['anthropic-version'] === undefined) {
          fail(res, 400, 'anthropic-version: header is required');
          return true;
        }
        if (listing) {
          // The Models API: newest first, paged (`limit`, default 20, up to 1000).
          const limit = Math.min(1000, Number(recorded.query.get('limit') ?? 20) || 20);
          const ids = (options.models ?? ['claude-sonnet-4-5-20250929', 'claude-opus-4-6']).slice(0, limit);
          const data = ids.map((id, i) => ({ type: 'model', id, display_name: `Claude ${id}`, created_at: new Date(Date.UTC(2025, 8, 29 - i)).toISOString() }));
          sendJsonBody(res, 200, { data, has_more: false, first_id: ids[0] ?? null, last_id: ids[ids.length - 1] ?? null });
          return true;
        }
        return false;
      },
      answer,
    },
    options,
  );
}

export type { NativeBehaviour, NativeUpstream };
