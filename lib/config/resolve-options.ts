import { Logger } from '@nestjs/common';
import type { JwtIssuerModuleOptions } from '../interfaces/jwt-issuer-module-options.interface.js';
import type { ResolvedNatsUserJwtOptions } from '../nats/interfaces/nats-options.interface.js';
import { normalizeNatsUserJwtOptions } from '../nats/nats.options.js';
import type { ResolvedSealdJwtOptions } from '../seald/interfaces/seald-options.interface.js';
import { normalizeSealdJwtOptions } from '../seald/seald.options.js';
import type { ResolvedServiceTokenOptions } from '../service-token/interfaces/service-token-options.interface.js';
import { normalizeServiceTokenOptions } from '../service-token/service-token.options.js';
import type { ResolvedVonageJwtOptions } from '../vonage/interfaces/vonage-options.interface.js';
import { normalizeVonageJwtOptions } from '../vonage/vonage.options.js';
import { ConfigProblems } from './config-problems.js';
import type { NormalizeContext } from './normalize-context.interface.js';

/** The module's options after validation (internal). An absent section means the capability is off. */
export interface ResolvedJwtIssuerOptions {
  nats?: ResolvedNatsUserJwtOptions;
  service?: ResolvedServiceTokenOptions;
  seald?: ResolvedSealdJwtOptions;
  vonage?: ResolvedVonageJwtOptions;
}

type Section = keyof ResolvedJwtIssuerOptions;

/** Each section's normalizer (validation, key import), in the order sections are reported. */
const NORMALIZERS: {
  [S in Section]-?: (
    raw: unknown,
    problems: ConfigProblems,
    context: NormalizeContext,
  ) => ResolvedJwtIssuerOptions[S] | Promise<ResolvedJwtIssuerOptions[S]>;
} = {
  nats: normalizeNatsUserJwtOptions,
  service: normalizeServiceTokenOptions,
  seald: normalizeSealdJwtOptions,
  vonage: normalizeVonageJwtOptions,
};
const SECTIONS = Object.keys(NORMALIZERS) as Section[];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merges explicit options over environment options (key by key inside each section), validates every section, and
 * throws one {@link JwtIssuerConfigError} listing every problem. Never mutates its inputs.
 */
export async function resolveJwtIssuerOptions(
  explicit: JwtIssuerModuleOptions | undefined,
  fromEnv: JwtIssuerModuleOptions | undefined,
  context: NormalizeContext = {
    production: process.env.NODE_ENV === 'production',
    logger: new Logger('JwtIssuerModule'),
  },
): Promise<ResolvedJwtIssuerOptions> {
  const problems = new ConfigProblems();
  const given =
    explicit === undefined
      ? {}
      : (problems.section('', explicit, [...SECTIONS, 'ignoreEnvVars']) ?? {});
  const env: Record<string, unknown> =
    given.ignoreEnvVars === true || !isPlainObject(fromEnv) ? {} : fromEnv;

  const resolved: Record<string, unknown> = {};
  for (const section of SECTIONS) {
    const a = env[section];
    const b = given[section];
    if (a === undefined && b === undefined) continue;
    if (b !== undefined && !isPlainObject(b)) {
      problems.add(section, 'must be an object');
      continue;
    }
    resolved[section] = await NORMALIZERS[section](
      { ...(a as object | undefined), ...b },
      problems,
      context,
    );
  }
  problems.throwIfAny();
  context.logger.log(
    `Capabilities: ${SECTIONS.map((s) => `${s} ${resolved[s] ? 'on' : 'off'}`).join(', ')}`,
  );
  return resolved as ResolvedJwtIssuerOptions;
}
