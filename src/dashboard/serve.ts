import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { OptimizerError } from '../errors/registry.js';
import { sendHttpError } from '../http/error-response.js';

/**
 * The dashboard's static files: `src/dashboard/public/` (plain ES modules, HTML and CSS,
 * type-checked by tsconfig.dashboard.json), copied next to this module into `dist/` by
 * `npm run build` (src/dashboard/copy-assets.ts), so `npm start` serves them with no other
 * step, and vitest (running the sources) serves the originals.
 */
export const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json',
};

/** Nothing from another origin: the page works offline and cannot be made to load foreign code. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface Asset {
  body: Buffer;
  type: string;
}

let assets: Map<string, Asset> | undefined;

/** Every file of the public directory, read once (they are small and never change while running). */
function loadAssets(): Map<string, Asset> {
  if (assets) return assets;
  const loaded = new Map<string, Asset>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
    if (type !== undefined && /^[a-z0-9-]+\.[a-z]+$/.test(name)) loaded.set(name, { body: readFileSync(new URL(name, `file://${PUBLIC_DIR}`)), type });
  }
  assets = loaded;
  return loaded;
}

/** Answers `GET /dashboard/<name>` from the public directory (only names it holds; no paths). */
export function serveDashboard(req: IncomingMessage, res: ServerResponse, name: string): void {
  req.resume();
  const asset = loadAssets().get(name === '' ? 'index.html' : name);
  if (!asset) return sendHttpError(res, new OptimizerError('NOT_FOUND', `No dashboard file '${name}'.`));
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}
