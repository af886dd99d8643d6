import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import schema from '../../supervisor.config.schema.json' with { type: 'json' };
import { BACKEND_DEFAULTS, DEFAULTS } from '../../src/config/defaults.js';
import { PROVIDER_NAMES } from '../../src/providers/presets.js';

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  $ref?: string;
  enum?: unknown[];
  description?: string;
  additionalProperties?: unknown;
  items?: SchemaNode;
}

const root = schema as unknown as SchemaNode & { definitions: Record<string, SchemaNode> };

/** A node with its `$ref` (local `#/definitions/x` only) followed. */
function deref(node: SchemaNode): SchemaNode {
  if (node.$ref === undefined) return node;
  const name = node.$ref.replace('#/definitions/', '');
  const target = root.definitions[name];
  if (target === undefined) throw new Error(`unresolved ${node.$ref}`);
  return { ...deref(target), ...node, $ref: undefined };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Fields of `value` (recursively, into objects with declared properties) that the schema does not declare, and the reverse. */
function mismatches(value: Record<string, unknown>, node: SchemaNode, at: string): string[] {
  const properties = deref(node).properties ?? {};
  const out: string[] = [];
  for (const key of Object.keys(value)) {
    const child = properties[key];
    if (child === undefined) out.push(`${at}/${key} is not in the schema`);
    else if (isObject(value[key]) && deref(child).properties !== undefined) out.push(...mismatches(value[key], child, `${at}/${key}`));
  }
  return out;
}

describe('supervisor.config.schema.json', () => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

  it('compiles under Ajv strict mode', () => {
    expect(typeof validate).toBe('function');
  });

  it('accepts DEFAULTS as a config file', () => {
    expect(validate(DEFAULTS), JSON.stringify(validate.errors)).toBe(true);
  });

  it('accepts an empty file and a $schema reference', () => {
    expect(validate({})).toBe(true);
    expect(validate({ $schema: './supervisor.config.schema.json' })).toBe(true);
  });

  it('declares every top-level key of DEFAULTS, and nothing else', () => {
    const schemaKeys = Object.keys(root.properties ?? {}).filter((key) => key !== '$schema');
    expect(schemaKeys.sort()).toEqual(Object.keys(DEFAULTS).sort());
  });

  it('declares every nested key of DEFAULTS and of the backend defaults', () => {
    expect(mismatches(DEFAULTS as unknown as Record<string, unknown>, root, '')).toEqual([]);
    expect(mismatches(BACKEND_DEFAULTS as unknown as Record<string, unknown>, { $ref: '#/definitions/backend' }, '/backends/n')).toEqual([]);
    for (const child of DEFAULTS.supervision.children) {
      expect(mismatches(child as unknown as Record<string, unknown>, { $ref: '#/definitions/rootChild' }, '/supervision/children')).toEqual([]);
    }
  });

  it('accepts a backend entry with every per-backend default filled in', () => {
    const backend = { id: 'groq', provider: 'groq', models: ['m'], baseUrl: 'https://api.groq.com/openai/v1', apiKeyEnv: 'GROQ_API_KEY', ...BACKEND_DEFAULTS };
    expect(validate({ backends: [backend] }), JSON.stringify(validate.errors)).toBe(true);
  });

  it('lists exactly the provider presets in its provider enum', () => {
    const provider = deref(root.definitions.backend as SchemaNode).properties?.provider;
    expect([...(provider?.enum ?? [])].sort()).toEqual([...PROVIDER_NAMES].sort());
  });

  it('lists exactly the default root children in its child id enum', () => {
    const id = root.definitions.rootChild?.properties?.id;
    expect(id?.enum).toEqual(DEFAULTS.supervision.children.map((child) => child.id));
  });

  it('forbids unknown properties in every object that declares properties', () => {
    const open: string[] = [];
    const walk = (node: SchemaNode, at: string): void => {
      const resolved = deref(node);
      if (resolved.properties !== undefined) {
        if (resolved.additionalProperties !== false) open.push(at);
        for (const [key, child] of Object.entries(resolved.properties)) walk(child, `${at}/${key}`);
      }
      if (resolved.items !== undefined) walk(resolved.items, `${at}/items`);
    };
    walk(root, '');
    expect(open).toEqual([]);
  });

  it('describes every field', () => {
    const undescribed: string[] = [];
    const walk = (node: SchemaNode, at: string): void => {
      const resolved = deref(node);
      for (const [key, child] of Object.entries(resolved.properties ?? {})) {
        if (deref(child).description === undefined) undescribed.push(`${at}/${key}`);
        walk(child, `${at}/${key}`);
      }
      if (resolved.items !== undefined) walk(resolved.items, `${at}/items`);
    };
    walk(root, '');
    expect(undescribed).toEqual([]);
  });

  it.each([
    [{ server: { port: 65536 } }, '/server/port'],
    [{ server: { port: -1 } }, '/server/port'],
    [{ server: { port: 80.5 } }, '/server/port'],
    [{ server: { maxBodyBytes: 1023 } }, '/server/maxBodyBytes'],
    [{ supervision: { intensity: -1 } }, '/supervision/intensity'],
    [{ supervision: { periodMs: 0 } }, '/supervision/periodMs'],
    [{ supervision: { strategy: 'one_for_some' } }, '/supervision/strategy'],
    [{ supervision: { children: [{ id: 'store', restart: 'sometimes' }] } }, '/supervision/children/0/restart'],
    [{ log: { level: 'verbose' } }, '/log/level'],
    [{ sessions: { pingIntervalMs: 2 ** 31 } }, '/sessions/pingIntervalMs'],
    [{ backends: [{ id: '-groq', provider: 'groq', models: ['m'] }] }, '/backends/0/id'],
    [{ backends: [{ id: 'a/b', provider: 'groq', models: ['m'] }] }, '/backends/0/id'],
    [{ backends: [{ id: 'groq', provider: 'bedrock', models: ['m'] }] }, '/backends/0/provider'],
    [{ backends: [{ id: 'groq', provider: 'groq', models: [''] }] }, '/backends/0/models/0'],
    [{ backends: [{ id: 'groq', provider: 'groq', models: ['m'], apiKeyEnv: 'groq_key' }] }, '/backends/0/apiKeyEnv'],
    [{ backends: [{ id: 'groq', provider: 'groq', models: ['m'], baseUrl: 'api.groq.com' }] }, '/backends/0/baseUrl'],
    [{ backends: [{ id: 'groq', provider: 'groq', models: ['m'], timeouts: { connectMs: 0 } }] }, '/backends/0/timeouts/connectMs'],
    [{ agents: [{ id: 'a', keyEnv: '1KEY' }] }, '/agents/0/keyEnv'],
    [{ routing: { aliases: { fast: 'no-slash' } } }, '/routing/aliases/fast'],
  ])('rejects %j at %s', (document, path) => {
    expect(validate(document)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain(path);
  });
});
