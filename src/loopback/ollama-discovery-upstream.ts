/**
 * A loopback Ollama as discovery sees it: `GET /` ("Ollama is running"), `GET /api/tags` (the
 * pulled models, in Ollama's shape), `GET /v1/models` (Ollama's OpenAI-compatible list) and the
 * OpenAI-compatible completions and embeddings (answered by an inner OpenAI loopback). The native
 * `/api/chat` is the adapters' loopback (src/loopback/ollama-upstream.ts); this one only needs
 * what discovery and the `/v1` API use.
 */
import { sendJson, startLocalServer } from './local-server.js';
import type { OpenAIUpstream, UpstreamOptions } from './openai-upstream.js';

export interface OllamaDiscoveryUpstream {
  /** The server root (`http://127.0.0.1:PORT`). */
  readonly url: string;
  readonly port: number;
  readonly inner: OpenAIUpstream;
  /** Requests to /api/tags (the probes). */
  readonly probes: number;
  /** What /api/tags and /v1/models list from now on (as after `ollama pull` / `ollama rm`). */
  setModels(models: string[]): void;
  close(): Promise<void>;
}

const MODIFIED_AT = '2026-01-15T10:00:00.000000000Z';

export async function startOllamaDiscoveryUpstream(
  options: { models?: string[]; port?: number; inner?: Omit<UpstreamOptions, 'models'> } = {},
): Promise<OllamaDiscoveryUpstream> {
  let models = options.models ?? ['llama3.2:latest', 'nomic-embed-text:latest'];
  let probes = 0;
  const server = await startLocalServer(
    (req, res, path) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Ollama is running');
        return true;
      }
      if (path === '/api/tags') {
        probes++;
        sendJson(res, 200, {
          models: models.map((name, i) => ({
            name,
            model: name,
            modified_at: MODIFIED_AT,
            size: 2_019_393_189 + i,
            digest: `a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b7${i % 10}`,
            details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
          })),
        });
        return true;
      }
      if (path === '/v1/models') {
        sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_736_935_200, owned_by: 'library' })) });
        return true;
      }
      return false;
    },
    { ...(options.port === undefined ? {} : { port: options.port }), inner: { ...options.inner, models } },
  );
  return {
    url: server.url,
    port: server.port,
    inner: server.inner,
    get probes() {
      return probes;
    },
    setModels(next) {
      models = [...next];
    },
    close: () => server.close(),
  };
}
