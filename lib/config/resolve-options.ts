import { Logger } from '@nestjs/common';
import type {
  JwtIssuerCapability,
  ResolvedSections,
} from './capability.interface.js';
import { ConfigProblems } from './config-problems.js';
import { envVarLookup } from './env.js';
import type { NormalizeContext } from './normalize-context.interface.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The context normalizers get when the caller gives none: `NODE_ENV` and the module's logger. */
export function defaultNormalizeContext(): NormalizeContext {
  return {
    production: process.env.NODE_ENV === 'production',
    logger: new Logger('JwtIssuerModule'),
  };
}

/**
 * Merges explicit options over environment options (key by key inside each section), validates every capability's
 * section, and throws one {@link JwtIssuerConfigError} listing every problem. Never mutates its inputs.
 * `extraKeys` are further top-level option names that are not sections (such as `ignoreEnvVars`).
 */
export async function resolveCapabilityOptions(
  capabilities: readonly JwtIssuerCapability[],
  explicit: object | undefined,
  fromEnv: object | undefined,
  context: NormalizeContext = defaultNormalizeContext(),
  extraKeys: readonly string[] = ['ignoreEnvVars'],
): Promise<ResolvedSections> {
  const problems = new ConfigProblems(
    envVarLookup(capabilities.flatMap((c) => c.envVars)),
  );
  const sections = capabilities.map((c) => c.section);
  const given =
    explicit === undefined
      ? {}
      : (problems.section('', explicit, [...sections, ...extraKeys]) ?? {});
  const env: Record<string, unknown> =
    given.ignoreEnvVars === true || !isPlainObject(fromEnv) ? {} : fromEnv;

  const resolved: Record<string, unknown> = {};
  for (const { section, normalize } of capabilities) {
    const a = env[section];
    const b = given[section];
    if (a === undefined && b === undefined) continue;
    if (b !== undefined && !isPlainObject(b)) {
      problems.add(section, 'must be an object');
      continue;
    }
    resolved[section] = await normalize(
      { ...(a as object | undefined), ...b },
      problems,
      context,
    );
  }
  problems.throwIfAny();
  context.logger.log(
    `Capabilities: ${sections.map((s) => `${s} ${resolved[s] ? 'on' : 'off'}`).join(', ')}`,
  );
  return resolved;
}
