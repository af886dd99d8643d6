/**
 * `GET /admin/backends/:id/models` asks each backend in its own dialect (the adapter's
 * `listModels`) and answers in OpenAI's list shape: Anthropic's `/v1/models` with its auth
 * headers, Gemini's `/models` with `x-goog-api-key`, Ollama's `/api/tags`, an OpenAI-compatible
 * backend's `/models` — each through the real optimizer against its loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicUpstream } from '../../src/loopback/anthropic-upstream.js';
import { startGeminiUpstream } from '../../src/loopback/gemini-upstream.js';
import { startOllamaUpstream } from '../../src/loopback/ollama-upstream.js';
import type { NativeUpstream } from '../../src/loopback/scripted-server.js';
import { anthropicModelList, geminiModelList, ollamaModelList, openAIModelList } from '../../src/providers/model-list.js';
import { startStack, type Stack } from '../support/stack.js';

type Json = Record<string, any>;
const TIMEOUTS = { connectMs: 2000, headersMs: 5000, bodyIdleMs: 5000 };

describe('model lists normalised to OpenAI’s shape', () => {
  it('Anthropic: data[].id, created from created_at, display_name kept', () => {
    expect(anthropicModelList({ data: [{ type: 'model', id: 'claude-opus-4-6', display_name: 'Claude Opus 4.6', created_at: '2026-02-05T00:00:00Z' }], has_more: false })).toEqual({
      object: 'list',
      data: [{ id: 'claude-opus-4-6', object: 'model', owned_by: 'anthropic', created: 1_770_249_600, display_name: 'Claude Opus 4.6' }],
    });
  });

  it('Gemini: `models/` prefix dropped, context window from inputTokenLimit', () => {
    expect(geminiModelList({ models: [{ name: 'models/gemini-2.5-flash', displayName: 'Gemini 2.5 Flash', inputTokenLimit: 1_048_576 }, { displayName: 'no name' }] })).toEqual({
      object: 'list',
      data: [{ id: 'gemini-2.5-flash', object: 'model', owned_by: 'google', display_name: 'Gemini 2.5 Flash', context_window: 1_048_576 }],
    });
  });

  it('Ollama: /api/tags models by their model name', () => {
    expect(ollamaModelList({ models: [{ name: 'llama3.2:latest', model: 'llama3.2:latest', modified_at: '2025-01-01T00:00:00Z' }, { name: 'qwen3' }] }).data).toEqual([
      { id: 'llama3.2:latest', object: 'model', owned_by: 'ollama', created: 1_735_689_600 },
      { id: 'qwen3', object: 'model', owned_by: 'ollama' },
    ]);
  });

  it('OpenAI-compatible: kept as it came (vLLM’s max_model_len stays), an owner filled in where missing', () => {
    expect(openAIModelList({ object: 'list', data: [{ id: 'Qwen/Qwen3-8B', object: 'model', owned_by: 'vllm', max_model_len: 32768 }, { id: 'x' }, { nope: 1 }] }, 'vllm').data).toEqual([
      { id: 'Qwen/Qwen3-8B', object: 'model', owned_by: 'vllm', max_model_len: 32768 },
      { id: 'x', object: 'model', owned_by: 'vllm' },
    ]);
    expect(openAIModelList('not a list', 'x')).toEqual({ object: 'list', data: [] });
  });
});

describe('GET /admin/backends/:id/models through the optimizer', () => {
  let stack: Stack;
  let anthropic: NativeUpstream;
  let gemini: NativeUpstream;
  let ollama: NativeUpstream;

  beforeAll(async () => {
    anthropic = await startAnthropicUpstream({ apiKey: 'sk-ant-loopback', models: ['claude-sonnet-4-5-20250929', 'claude-opus-4-6'] });
    gemini = await startGeminiUpstream({ apiKey: 'AIza-loopback', models: ['gemini-2.5-flash', 'gemini-embedding-001'] });
    ollama = await startOllamaUpstream({ models: ['llama3.2:latest', 'nomic-embed-text:latest'] });
    stack = await startStack({
      upstreams: { spare: { models: ['test-model', 'other-model'] } },
      extraBackends: [
        { id: 'claude', provider: 'anthropic', baseUrl: anthropic.url, apiKeyEnv: 'A_KEY', models: ['claude-opus-4-6'], timeouts: TIMEOUTS },
        { id: 'claude-badkey', provider: 'anthropic', baseUrl: anthropic.url, apiKeyEnv: 'A_BAD', models: ['claude-opus-4-6'], timeouts: TIMEOUTS },
        { id: 'gemini', provider: 'gemini', baseUrl: gemini.url, apiKeyEnv: 'G_KEY', models: ['gemini-2.5-flash'], timeouts: TIMEOUTS },
        { id: 'local', provider: 'ollama-native', baseUrl: ollama.url, models: ['llama3.2:latest'], timeouts: TIMEOUTS },
      ],
      env: { A_KEY: 'sk-ant-loopback', A_BAD: 'sk-ant-wrong', G_KEY: 'AIza-loopback' },
      config: { cache: { enabled: false } },
    });
  });
  afterAll(async () => {
    await stack.close();
    await Promise.all([anthropic.close(), gemini.close(), ollama.close()]);
  });

  const list = async (id: string) => {
    const response = await fetch(`${stack.optimizer.url}/admin/backends/${id}/models`);
    return { status: response.status, body: (await response.json()) as Json };
  };

  it('Anthropic: GET /v1/models with x-api-key and anthropic-version', async () => {
    const { status, body } = await list('claude');
    expect(status).toBe(200);
    expect(body.object).toBe('list');
    expect(body.data.map((m: Json) => [m.id, m.object, m.owned_by])).toEqual([
      ['claude-sonnet-4-5-20250929', 'model', 'anthropic'],
      ['claude-opus-4-6', 'model', 'anthropic'],
    ]);
  });

  it('Anthropic with a wrong key: its 401 mapped by the adapter (UPSTREAM_AUTH_FAILED)', async () => {
    const { status, body } = await list('claude-badkey');
    expect(status).toBe(502);
    expect(body.error.code).toBe('UPSTREAM_AUTH_FAILED');
  });

  it('Gemini: GET /models with x-goog-api-key, models/ names as ids', async () => {
    const { status, body } = await list('gemini');
    expect(status).toBe(200);
    expect(body.data.map((m: Json) => m.id)).toEqual(['gemini-2.5-flash', 'gemini-embedding-001']);
    expect(body.data[0]).toMatchObject({ object: 'model', owned_by: 'google', context_window: 1_048_576 });
  });

  it('Ollama native: GET /api/tags', async () => {
    const { status, body } = await list('local');
    expect(status).toBe(200);
    expect(body.data.map((m: Json) => [m.id, m.owned_by])).toEqual([
      ['llama3.2:latest', 'ollama'],
      ['nomic-embed-text:latest', 'ollama'],
    ]);
  });

  it('OpenAI-compatible: GET /models as before', async () => {
    const { status, body } = await list('spare');
    expect(status).toBe(200);
    expect(body.data.map((m: Json) => m.id)).toEqual(['test-model', 'other-model']);
  });
});
