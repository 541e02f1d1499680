import type { JwtIssuerCapability } from './config/capability.interface.js';
import type { EnvVarSpec } from './config/env-var.interface.js';
import { readEnvOptions } from './config/env.js';
import type { NormalizeContext } from './config/normalize-context.interface.js';
import { resolveCapabilityOptions } from './config/resolve-options.js';
import type { JwtIssuerModuleOptions } from './interfaces/jwt-issuer-module-options.interface.js';
import { NATS_CAPABILITY } from './nats/nats.capability.js';
import { SEALD_CAPABILITY } from './seald/seald.capability.js';
import { SERVICE_TOKEN_CAPABILITY } from './service-token/service-token.capability.js';
import { VONAGE_CAPABILITY } from './vonage/vonage.capability.js';

/**
 * The module's capabilities, in the order they are validated and reported. Adding a capability is adding its folder
 * (with its `*.capability.ts` descriptor) and one line here.
 */
export const JWT_ISSUER_CAPABILITIES = [
  NATS_CAPABILITY,
  SERVICE_TOKEN_CAPABILITY,
  SEALD_CAPABILITY,
  VONAGE_CAPABILITY,
] as const;

type Capability = (typeof JWT_ISSUER_CAPABILITIES)[number];

/** The module's options after validation (internal). An absent section means the capability is off. */
export type ResolvedJwtIssuerOptions = {
  [C in Capability as C['section']]?: C extends JwtIssuerCapability<
    string,
    infer R
  >
    ? R
    : never;
};

/** Every environment variable the module reads (also the source of the README's table). */
export const JWT_ISSUER_ENV_VARS: readonly EnvVarSpec[] =
  JWT_ISSUER_CAPABILITIES.flatMap((c) => c.envVars);

/** Reads the module's options from `JWT_ISSUER_*` environment variables (see {@link readEnvOptions}). */
export function readJwtIssuerEnv(
  env: Record<string, string | undefined> = process.env,
): Record<string, Record<string, unknown>> {
  return readEnvOptions(JWT_ISSUER_ENV_VARS, env);
}

/**
 * Merges explicit options over environment options, validates every capability's section and throws one
 * {@link JwtIssuerConfigError} listing every problem (see {@link resolveCapabilityOptions}).
 */
export async function resolveJwtIssuerOptions(
  explicit: JwtIssuerModuleOptions | undefined,
  fromEnv: JwtIssuerModuleOptions | undefined,
  context?: NormalizeContext,
): Promise<ResolvedJwtIssuerOptions> {
  return resolveCapabilityOptions(
    JWT_ISSUER_CAPABILITIES,
    explicit,
    fromEnv,
    context,
  );
}
