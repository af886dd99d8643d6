import type { IncomingMessage } from 'node:http';
import { OptimizerError } from '../errors/registry.js';

/**
 * Reads a JSON request body of at most `limit` bytes. Refuses early on a
 * `content-length` over the limit, and stops reading once the limit is passed.
 */
export interface JsonBody {
  value: unknown;
  /** The body's text, kept only when it is at least `keepTextFrom` bytes (for keying it in the worker pool). */
  text: string | undefined;
  bytes: number;
}

export function readJsonBody(req: IncomingMessage, limit: number, keepTextFrom = Infinity): Promise<JsonBody> {
  const type = req.headers['content-type'];
  if (type !== undefined && !type.includes('json')) {
    req.resume();
    return Promise.reject(new OptimizerError('UNSUPPORTED_MEDIA_TYPE', `Send the body as application/json, not ${type}.`));
  }
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) return;
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
      // These listeners stay on the request until it is answered: let go of its raw bytes now (the
      // parsed body is what the request path keeps; with large prompts the bytes were a second copy).
      chunks.length = 0;
      try {
        resolve({ value: JSON.parse(text), text: size >= keepTextFrom ? text : undefined, bytes: size });
      } catch (error) {
        // Told apart only once parsing failed: no copy of every body to trim.
        if (/^\s*$/.test(text)) reject(new OptimizerError('INVALID_JSON', 'The request body is empty; send a JSON object.'));
        else reject(new OptimizerError('INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`));
      }
    });
    req.on('error', (error) => reject(new OptimizerError('INVALID_REQUEST', `The request body could not be read: ${error.message}`)));
  });
}

function tooLarge(limit: number): OptimizerError {
  return new OptimizerError('BODY_TOO_LARGE', `The request body is larger than ${limit} bytes (server.maxBodyBytes).`);
}
