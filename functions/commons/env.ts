import type { EnvName } from './env-names.ts';

/** Thrown at cold start when the stack did not inject a variable a handler needs. */
export class MissingEnvironmentError extends Error {
  constructor(name: string) {
    super(`Environment variable ${name} is required; the CDK stack sets it, so redeploy or set it when running the handler locally.`);
    this.name = 'MissingEnvironmentError';
  }
}

/** Reads a required variable; throws `Environment variable X is required` when unset or empty. */
export function requireEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new MissingEnvironmentError(name);
  return value;
}

/** Reads a positive integer variable, or returns the default when unset. */
export function intEnv(name: EnvName, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`Environment variable ${name} must be a positive integer, got "${raw}".`);
  }
  return value;
}

/** Reads an optional variable; undefined when unset or empty. */
export function optionalEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}
