import { createHash } from 'node:crypto';
import type { AgentConfig } from '../config/types.js';
import { readSecret } from '../config/secrets.js';
import { OptimizerError } from '../errors/registry.js';

/** Who is calling. */
export interface AgentIdentity {
  agentId: string;
  agentType: string | undefined;
  /** Cache and dedupe scope: shared within a tenant, never across. */
  tenant: string;
}

export const DEFAULT_TENANT = 'default';
const TENANT = /^[A-Za-z0-9._:@-]{1,64}$/;

/** Agent ids taken from headers or bodies: short and printable, since they name actors and log lines. */
const AGENT_ID = /^[A-Za-z0-9._:@/-]{1,128}$/;
export const ANONYMOUS_AGENT = 'anonymous';

const digest = (key: string) => createHash('sha256').update(key).digest('base64');

/**
 * Resolves the caller's identity. With agents configured, the bearer key decides (keys
 * read from each agent's `keyEnv` at start, kept only as hashes); without, the
 * `x-agent-id` header or the body's `user`, else `anonymous`.
 */
export class AgentDirectory {
  readonly #byKeyHash = new Map<string, AgentIdentity>();
  /** Agents whose key env var was unset at start (reported in the start log). */
  readonly missingKeys: string[] = [];
  readonly enforced: boolean;

  constructor(agents: readonly AgentConfig[], env: NodeJS.ProcessEnv) {
    this.enforced = agents.length > 0;
    for (const agent of agents) {
      const key = readSecret(agent.keyEnv, env);
      if (key === undefined) this.missingKeys.push(`${agent.id} (${agent.keyEnv})`);
      else this.#byKeyHash.set(digest(key), { agentId: agent.id, agentType: agent.type, tenant: agent.tenant ?? DEFAULT_TENANT });
    }
  }

  /** From a bearer key (configured agents). */
  byKey(key: string | undefined): AgentIdentity {
    if (key === undefined || key === '') {
      throw new OptimizerError('MISSING_API_KEY', 'Send your agent key as `Authorization: Bearer <key>`.');
    }
    const agent = this.#byKeyHash.get(digest(key));
    if (!agent) throw new OptimizerError('INVALID_API_KEY', 'The agent key is not valid.');
    return agent;
  }

  /** From a claimed id and tenant (no agents configured). */
  byClaim(claimed: unknown, agentType: string | undefined, param: string, tenant?: unknown): AgentIdentity {
    let checkedTenant = DEFAULT_TENANT;
    if (tenant !== undefined && tenant !== null && tenant !== '') {
      if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
        throw new OptimizerError('INVALID_REQUEST', 'The tenant must be 1-64 characters of letters, digits and . _ : @ -', { param: 'tenant' });
      }
      checkedTenant = tenant;
    }
    if (claimed === undefined || claimed === null || claimed === '') return { agentId: ANONYMOUS_AGENT, agentType, tenant: checkedTenant };
    if (typeof claimed !== 'string' || !AGENT_ID.test(claimed)) {
      throw new OptimizerError('INVALID_REQUEST', `'${param}' must be 1-128 characters of letters, digits and . _ : @ / -`, { param });
    }
    return { agentId: claimed, agentType, tenant: checkedTenant };
  }

  /** HTTP: `Authorization: Bearer`, else `x-agent-id` (and `x-tenant-id`), else the body's `user`. */
  fromHttp(
    authorization: string | undefined,
    agentIdHeader: string | undefined,
    agentTypeHeader: string | undefined,
    body: Record<string, unknown> | undefined,
    tenantHeader?: string,
  ): AgentIdentity {
    if (this.enforced) return this.byKey(bearer(authorization));
    if (agentIdHeader !== undefined) return this.byClaim(agentIdHeader, agentTypeHeader, 'x-agent-id', tenantHeader);
    return this.byClaim(body?.user, agentTypeHeader, 'user', tenantHeader);
  }
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearer(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  return match?.[1];
}
