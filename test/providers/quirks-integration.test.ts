/**
 * The quirk table, proven on the wire: each flavoured loopback rejects what its provider rejects,
 * with the provider's own status and body; through the optimizer, the same requests succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

type Json = Record<string, any>;

describe('provider quirks through the optimizer, against flavoured loopbacks', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      upstreams: {
        cerebras: { provider: 'cerebras', flavour: 'cerebras', apiKey: 'k', apiKeyEnv: 'K', models: ['gpt-oss-120b'] },
        groq: { provider: 'groq', flavour: 'groq', apiKey: 'k', apiKeyEnv: 'K', models: ['openai/gpt-oss-20b'] },
        mistral: { provider: 'mistral', flavour: 'mistral', apiKey: 'k', apiKeyEnv: 'K', models: ['mistral-large-latest'] },
        deepseek: { provider: 'deepseek', flavour: 'deepseek', apiKey: 'k', apiKeyEnv: 'K', models: ['deepseek-chat', 'deepseek-reasoner'] },
        openrouter: { provider: 'openrouter', apiKey: 'k', apiKeyEnv: 'K', models: ['moonshotai/kimi-k2'] },
      },
      env: { K: 'k' },
      config: { cache: { enabled: false }, dedupe: { enabled: false }, resilience: { retry: { maxAttempts: 1 } } },
    });
  });
  afterAll(() => stack.close());

  async function chat(model: string, extra: Json): Promise<{ status: number; body: Json; text: string }> {
    const response = await fetch(`${stack.optimizer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-id': 'quirks' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra }),
    });
    const text = await response.text();
    let body: Json = {};
    try {
      body = JSON.parse(text) as Json;
    } catch {
      // SSE
    }
    return { status: response.status, body, text };
  }

  /** The same body straight to the loopback: what the provider itself would answer. */
  async function direct(id: string, body: Json): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${stack.upstreams[id]!.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  it('Cerebras: penalties, logit_bias, parallel_tool_calls, service_tier and tool_choice "required" are refused by the provider, fixed by the optimizer', async () => {
    const extra = { frequency_penalty: 0.1, presence_penalty: 0.1, logit_bias: { 1: 1 }, parallel_tool_calls: false, service_tier: 'auto' };
    const refused = await direct('cerebras', { model: 'gpt-oss-120b', messages: [{ role: 'user', content: 'x' }], ...extra });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ type: 'invalid_request_error', code: 'wrong_api_format' }); // Cerebras' flat shape
    expect((await chat('cerebras/gpt-oss-120b', extra)).status).toBe(200);
    expect((await chat('cerebras/gpt-oss-120b', { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' })).status).toBe(200);
    expect((stack.upstreams.cerebras!.requests.at(-1)!.body as Json).tool_choice).toBe('auto');
  });

  it('Cerebras: a rejection the optimizer does not fix reaches the client as UPSTREAM_REJECTED with the flat message', async () => {
    stack.upstreams.cerebras!.script([{ kind: 'status', status: 400, body: { message: 'bad thing', type: 'invalid_request_error', param: 'x', code: 'wrong_api_format' } }]);
    const answer = await chat('cerebras/gpt-oss-120b', {});
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'UPSTREAM_REJECTED' });
    expect(answer.body.error.message).toContain('bad thing');
  });

  it('Groq: logprobs and messages[].name are dropped; its `reasoning` comes back as reasoning_content (plain and streamed)', async () => {
    const named = { messages: [{ role: 'user', content: 'hello', name: 'alice' }], logprobs: true, top_logprobs: 2 };
    expect((await direct('groq', { model: 'openai/gpt-oss-20b', ...named })).status).toBe(400);
    const answer = await chat('groq/openai/gpt-oss-20b', named);
    expect(answer.status).toBe(200);
    expect(answer.body.choices[0].message).toMatchObject({ content: 'echo: hello', reasoning_content: 'thinking: hello' });
    expect(answer.body.choices[0].message).not.toHaveProperty('reasoning');
    const streamed = await chat('groq/openai/gpt-oss-20b', { stream: true, stream_options: { include_usage: true } });
    const chunks = streamed.text.split('\n\n').filter((b) => b.startsWith('data: {')).map((b) => JSON.parse(b.slice(6)) as Json);
    expect(chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('')).toBe('thinking: hello');
    expect(chunks.some((c) => c.choices[0]?.delta?.reasoning !== undefined)).toBe(false);
    // Usage from x_groq, as the usage chunk the client asked for.
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
  });

  it('Mistral: n, name, max_completion_tokens, reasoning_content and foreign tool-call ids (each a 422/400 there) are fixed', async () => {
    const history = {
      n: 1,
      max_completion_tokens: 50,
      messages: [
        { role: 'user', content: 'hello', name: 'bob' },
        { role: 'assistant', content: null, reasoning_content: 'r', tool_calls: [{ id: 'call_0123456789abcdef', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_0123456789abcdef', content: 'ok' },
        { role: 'user', content: 'again' },
      ],
    };
    const refused = await direct('mistral', { model: 'mistral-large-latest', ...history });
    expect(refused.status).toBe(422);
    expect(refused.body.detail[0].type).toBe('extra_forbidden');
    const answer = await chat('mistral/mistral-large-latest', history);
    expect(answer.status).toBe(200);
    const sent = stack.upstreams.mistral!.requests.at(-1)!.body as Json;
    expect(sent.max_tokens).toBe(50);
    expect(sent.messages[1].tool_calls[0].id).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(sent.messages[2].tool_call_id).toBe(sent.messages[1].tool_calls[0].id);
  });

  it('DeepSeek: reasoning_content stays on the assistant tool-call turn (a 400 without it), and keep-alive filler is skipped', async () => {
    const history = {
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: null, reasoning_content: 'need a tool', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
      ],
    };
    // Thinking mode (deepseek-reasoner): the turn without its reasoning_content is refused there.
    const stripped = { messages: history.messages.map((m) => ({ ...m, reasoning_content: undefined })) };
    expect((await direct('deepseek', { model: 'deepseek-reasoner', ...stripped })).status).toBe(400);
    expect((await chat('deepseek/deepseek-reasoner', history)).status).toBe(200);
    expect((stack.upstreams.deepseek!.requests.at(-1)!.body as Json).messages[1].reasoning_content).toBe('need a tool');
    stack.upstreams.deepseek!.script([{ kind: 'keepalive', comments: 4 }, { kind: 'keepalive', comments: 6 }]);
    const plain = await chat('deepseek/deepseek-chat', {});
    expect(plain.status).toBe(200);
    expect(plain.text.startsWith('{')).toBe(true); // the blank keep-alive lines are not passed on
    expect(plain.body.choices[0].message.reasoning_content).toBe('thinking: hello');
    const streamed = await chat('deepseek/deepseek-chat', { stream: true });
    expect(streamed.text).not.toContain('keep-alive');
    expect(streamed.text.trim().endsWith('data: [DONE]')).toBe(true);
  });

  it("OpenRouter: `: OPENROUTER PROCESSING` comments are skipped and an in-stream error ends the stream with an explicit error", async () => {
    stack.upstreams.openrouter!.script([{ kind: 'keepalive', comments: 3 }, { kind: 'stream-error', afterChunks: 2, code: 502, message: 'provider returned error' }]);
    const ok = await chat('openrouter/moonshotai/kimi-k2', { stream: true });
    expect(ok.text).not.toContain('OPENROUTER');
    expect(ok.text.trim().endsWith('data: [DONE]')).toBe(true);
    const broken = await chat('openrouter/moonshotai/kimi-k2', { stream: true });
    expect(broken.text).not.toContain('[DONE]');
    expect(broken.text).toContain('"code":"UPSTREAM_STREAM_ERROR"');
    expect(broken.text).toContain('provider returned error');
  });
});
