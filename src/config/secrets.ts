/**
 * Secrets come from env vars named in the config (`apiKeyEnv`, `keyEnv`), never from the config itself.
 */

/**
 * The value of the env var `envName`, trimmed; `undefined` when no name is given, the var is unset,
 * or it holds only whitespace (an empty key is a missing key, not a key).
 */
export function readSecret(envName: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (envName === undefined || envName === '') return undefined;
  const value = env[envName]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
