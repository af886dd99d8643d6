/**
 * Secrets come from env vars named in the config (`apiKeyEnv`, `keyEnv`), never from the config itself.
 */
import type { OptimizerConfig } from './types.js';

/**
 * The value of the env var `envName`, trimmed; `undefined` when no name is given, the var is unset,
 * or it holds only whitespace (an empty key is a missing key, not a key).
 */
export function readSecret(envName: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (envName === undefined || envName === '') return undefined;
  const value = env[envName]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The values of every secret the config names (backend keys, agent keys, the admin key, the alert webhook URL), for exact scrubbing. */
export function configuredSecrets(config: OptimizerConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const names = [
    ...config.backends.map((b) => b.apiKeyEnv),
    ...config.agents.map((a) => a.keyEnv),
    config.admin.keyEnv,
    config.alerts.webhookUrlEnv,
  ];
  return names.map((name) => readSecret(name, env)).filter((value): value is string => value !== undefined);
}
