import { NATS_ENV_VARS } from '../nats/nats.env.js';
import { SEALD_ENV_VARS } from '../seald/seald.env.js';
import { SERVICE_TOKEN_ENV_VARS } from '../service-token/service-token.env.js';
import { VONAGE_ENV_VARS } from '../vonage/vonage.env.js';
import type { EnvVarSpec } from './env-var.interface.js';

/** Every environment variable the module reads (also the source of the README's table). */
export const JWT_ISSUER_ENV_VARS: readonly EnvVarSpec[] = [
  ...NATS_ENV_VARS,
  ...SERVICE_TOKEN_ENV_VARS,
  ...SEALD_ENV_VARS,
  ...VONAGE_ENV_VARS,
];

const byPath = new Map(JWT_ISSUER_ENV_VARS.map((v) => [v.path, v.env]));

/** The environment variable that feeds an option path, if there is one. */
export function envVarForPath(path: string): string | undefined {
  return byPath.get(path);
}

function parse(spec: EnvVarSpec, text: string): unknown {
  switch (spec.kind) {
    case 'string':
      return text;
    case 'number': {
      // Keep the text when it is not a number: validation reports it with the variable's name.
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      return text;
    }
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
  }
}

/**
 * Reads the module's options from environment variables. Only variables that are set (and not empty) appear in the
 * result; a section appears only when at least one of its variables is set. Values that do not parse are kept as
 * text, so that validation reports them with the variable's name.
 */
export function readJwtIssuerEnv(
  env: Record<string, string | undefined> = process.env,
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const spec of JWT_ISSUER_ENV_VARS) {
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    const [section, ...rest] = spec.path.split('.');
    let target = (out[section] ??= {});
    for (const key of rest.slice(0, -1)) {
      target = (target[key] ??= {}) as Record<string, unknown>;
    }
    target[rest[rest.length - 1]] = parse(spec, text);
  }
  return out;
}
