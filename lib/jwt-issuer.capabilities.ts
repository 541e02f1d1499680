import type { JwtIssuerCapability } from './config/capability.interface.js';
import type { EnvVarSpec } from './config/env-var.interface.js';
import { readEnvOptions } from './config/env.js';
import { JWT_ISSUER_ENV_PREFIX } from './config/read-options.js';
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

/**
 * A capability an application can declare it needs with `JwtIssuerModule.forRoot({ require: [...] })`: a section
 * (`'nats'`, `'seald'`, `'vonage'`; `'service'` = issue service tokens) or a capability's further requirement
 * (`'service.verify'` = verify other services' tokens, at least).
 */
export type JwtIssuerRequirement =
  | Capability['section']
  | (Capability extends infer C
      ? C extends JwtIssuerCapability<string, unknown, infer Q>
        ? Q
        : never
      : never);

export { JWT_ISSUER_ENV_PREFIX };

/** Every environment variable the module reads (also the source of the tables of docs/configuration.md). */
export const JWT_ISSUER_ENV_VARS: readonly EnvVarSpec[] =
  JWT_ISSUER_CAPABILITIES.flatMap((c) => c.envVars);

/** Reads the module's options from `JWT_ISSUER_*` environment variables (see {@link readEnvOptions}). */
export function readJwtIssuerEnv(
  env: Record<string, string | undefined> = process.env,
): Record<string, Record<string, unknown>> {
  return readEnvOptions(JWT_ISSUER_ENV_VARS, env);
}

/**
 * Merges explicit options over environment options, validates every capability's section, checks the `required`
 * capabilities and throws one {@link JwtIssuerConfigError} listing every problem (see
 * {@link resolveCapabilityOptions}).
 */
export async function resolveJwtIssuerOptions(
  explicit: JwtIssuerModuleOptions | undefined,
  fromEnv: JwtIssuerModuleOptions | undefined,
  context?: NormalizeContext,
  checks: {
    required?: readonly JwtIssuerRequirement[];
    /** The raw environment, checked for unknown `JWT_ISSUER_*` variables. @default none (no check) */
    environment?: Readonly<Record<string, string | undefined>>;
  } = {},
): Promise<ResolvedJwtIssuerOptions> {
  return resolveCapabilityOptions(
    JWT_ISSUER_CAPABILITIES,
    explicit,
    fromEnv,
    context,
    {
      required: checks.required,
      environment: checks.environment && {
        prefix: JWT_ISSUER_ENV_PREFIX,
        variables: checks.environment,
      },
    },
  );
}
