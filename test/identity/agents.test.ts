import { describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config/types.js';
import { OptimizerError } from '../../src/errors/registry.js';
import { AgentDirectory, ANONYMOUS_AGENT, bearer } from '../../src/identity/agents.js';
import { thrown } from '../support/fixtures.js';

const agents: AgentConfig[] = [
  { id: 'coder', keyEnv: 'CODER_KEY', type: 'coder' },
  { id: 'writer', keyEnv: 'WRITER_KEY' },
  { id: 'ghost', keyEnv: 'GHOST_KEY' },
];
const env = { CODER_KEY: 'sk-coder', WRITER_KEY: '  sk-writer\n', GHOST_KEY: '   ' };

describe('bearer', () => {
  it.each([
    ['Bearer sk-1', 'sk-1'],
    ['bearer sk-1', 'sk-1'],
    ['BEARER sk-1', 'sk-1'],
    ['Bearer    sk-1  ', 'sk-1'],
    ['  Bearer\tsk-1', 'sk-1'],
  ])('reads %j as %j', (header, token) => {
    expect(bearer(header)).toBe(token);
  });

  it.each([undefined, '', 'Bearer', 'Bearer   ', 'Basic dXNlcjpwYXNz', 'sk-1', 'Bearersk-1', 'Token sk-1'])('finds no token in %j', (header) => {
    expect(bearer(header)).toBeUndefined();
  });
});

describe('AgentDirectory with agents configured', () => {
  const directory = new AgentDirectory(agents, env);

  it('is enforced and lists the agents whose key env var is unset or blank', () => {
    expect(directory.enforced).toBe(true);
    expect(directory.missingKeys).toEqual(['ghost (GHOST_KEY)']);
    expect(new AgentDirectory(agents, {}).missingKeys).toEqual(['coder (CODER_KEY)', 'writer (WRITER_KEY)', 'ghost (GHOST_KEY)']);
  });

  it('reads keys from the env object given, not from process.env', () => {
    process.env.CODER_KEY_FROM_PROCESS = 'sk-process';
    try {
      const d = new AgentDirectory([{ id: 'p', keyEnv: 'CODER_KEY_FROM_PROCESS' }], {});
      expect(d.missingKeys).toEqual(['p (CODER_KEY_FROM_PROCESS)']);
      expect(thrown(() => d.byKey('sk-process')).code).toBe('INVALID_API_KEY');
    } finally {
      delete process.env.CODER_KEY_FROM_PROCESS;
    }
  });

  it('identifies an agent by its key (env values are trimmed)', () => {
    expect(directory.byKey('sk-coder')).toEqual({ agentId: 'coder', agentType: 'coder', tenant: 'default' });
    expect(directory.byKey('sk-writer')).toEqual({ agentId: 'writer', agentType: undefined, tenant: 'default' });
  });

  it('answers MISSING_API_KEY (401) without a key', () => {
    for (const key of [undefined, '']) {
      const error = thrown(() => directory.byKey(key));
      expect(error.code).toBe('MISSING_API_KEY');
      expect(error.status).toBe(401);
      expect(error.type).toBe('authentication_error');
    }
  });

  it('answers INVALID_API_KEY (401) for an unknown key, and never names the key', () => {
    for (const key of ['sk-nope', 'sk-coder ', 'SK-CODER', '   ']) {
      const error = thrown(() => directory.byKey(key));
      expect(error.code).toBe('INVALID_API_KEY');
      expect(error.status).toBe(401);
      expect(error.message).not.toContain(key.trim() || '\u0000');
    }
  });

  it('fromHttp: the bearer key decides; x-agent-id and the body’s user are ignored', () => {
    expect(directory.fromHttp('Bearer sk-coder', 'writer', 'other', { user: 'writer' })).toEqual({ agentId: 'coder', agentType: 'coder', tenant: 'default' });
    expect(thrown(() => directory.fromHttp(undefined, 'coder', undefined, { user: 'coder' })).code).toBe('MISSING_API_KEY');
    expect(thrown(() => directory.fromHttp('Basic abc', 'coder', undefined, undefined)).code).toBe('MISSING_API_KEY');
    expect(thrown(() => directory.fromHttp('Bearer sk-wrong', undefined, undefined, undefined)).code).toBe('INVALID_API_KEY');
  });

  it('stays enforced when every key is missing: no one gets in', () => {
    const locked = new AgentDirectory([{ id: 'a', keyEnv: 'UNSET' }], {});
    expect(locked.enforced).toBe(true);
    expect(thrown(() => locked.fromHttp(undefined, 'a', undefined, undefined)).code).toBe('MISSING_API_KEY');
    expect(thrown(() => locked.fromHttp('Bearer ', 'a', undefined, undefined)).code).toBe('MISSING_API_KEY');
  });
});

describe('AgentDirectory without agents', () => {
  const directory = new AgentDirectory([], { SOME_KEY: 'x' });

  it('is not enforced and misses no keys', () => {
    expect(directory.enforced).toBe(false);
    expect(directory.missingKeys).toEqual([]);
  });

  it('byClaim: takes a well-formed claimed id and the agent type', () => {
    for (const id of ['coder-1', 'team.alpha:bot@host/7_x', 'a', 'x'.repeat(128)]) {
      expect(directory.byClaim(id, 'coder', 'x-agent-id')).toEqual({ agentId: id, agentType: 'coder', tenant: 'default' });
    }
  });

  it('byClaim: no claim is the anonymous agent', () => {
    expect(ANONYMOUS_AGENT).toBe('anonymous');
    for (const claim of [undefined, null, '']) {
      expect(directory.byClaim(claim, undefined, 'user')).toEqual({ agentId: 'anonymous', agentType: undefined, tenant: 'default' });
    }
  });

  it('byClaim: rejects an invalid claimed id with INVALID_REQUEST naming the param', () => {
    for (const claim of ['has space', 'x'.repeat(129), 'tab\t', 'new\nline', 'ü', '<script>', 42, { id: 'a' }, ['a']]) {
      for (const param of ['x-agent-id', 'user']) {
        const error = thrown(() => directory.byClaim(claim, undefined, param));
        expect(error.code).toBe('INVALID_REQUEST');
        expect(error.status).toBe(400);
        expect(error.param).toBe(param);
        expect(error.message).toContain(`'${param}'`);
      }
    }
  });

  it('byKey still works as a check: no agent has a key', () => {
    expect(thrown(() => directory.byKey('anything')).code).toBe('INVALID_API_KEY');
  });

  it('fromHttp precedence: x-agent-id, then the body’s user, then anonymous; Authorization is ignored', () => {
    expect(directory.fromHttp('Bearer sk-x', 'header-agent', 'coder', { user: 'body-agent' })).toEqual({ agentId: 'header-agent', agentType: 'coder', tenant: 'default' });
    expect(directory.fromHttp(undefined, undefined, 'coder', { user: 'body-agent' })).toEqual({ agentId: 'body-agent', agentType: 'coder', tenant: 'default' });
    expect(directory.fromHttp(undefined, undefined, undefined, {})).toEqual({ agentId: 'anonymous', agentType: undefined, tenant: 'default' });
    expect(directory.fromHttp(undefined, undefined, 't', undefined)).toEqual({ agentId: 'anonymous', agentType: 't', tenant: 'default' });
  });

  it('fromHttp names the param that was at fault', () => {
    expect(thrown(() => directory.fromHttp(undefined, 'bad id', undefined, { user: 'ok' })).param).toBe('x-agent-id');
    expect(thrown(() => directory.fromHttp(undefined, undefined, undefined, { user: 'bad id' })).param).toBe('user');
    expect(thrown(() => directory.fromHttp(undefined, undefined, undefined, { user: 7 })).param).toBe('user');
  });

  it('fromHttp: a header that is present but empty makes the caller anonymous, even with a body user', () => {
    // Pins the current precedence: presence of the header, not its value, decides.
    expect(directory.fromHttp(undefined, '', undefined, { user: 'body-agent' })).toEqual({ agentId: 'anonymous', agentType: undefined, tenant: 'default' });
  });
});

describe('tenants', () => {
  it('takes a configured agent’s tenant, or a claimed one without agents, else default', () => {
    const configured = new AgentDirectory([{ id: 'a', keyEnv: 'A_KEY', tenant: 'acme' }], { A_KEY: 'sk-a' });
    expect(configured.byKey('sk-a').tenant).toBe('acme');
    const open = new AgentDirectory([], {});
    expect(open.fromHttp(undefined, 'x', undefined, undefined, 'globex').tenant).toBe('globex');
    expect(open.fromHttp(undefined, 'x', undefined, undefined).tenant).toBe('default');
    expect(() => open.fromHttp(undefined, 'x', undefined, undefined, 'bad tenant!')).toThrow(/tenant/);
  });
});
