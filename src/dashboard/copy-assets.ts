#!/usr/bin/env node
/**
 * Part of `npm run build`: tsc compiles TypeScript only, so the dashboard's static files
 * (src/dashboard/public/) are copied to dist/src/dashboard/public/, where the built
 * src/dashboard/serve.js looks for them.
 */
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../../src/dashboard/public/', import.meta.url));
const to = fileURLToPath(new URL('./public/', import.meta.url));
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
