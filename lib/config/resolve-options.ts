import { Logger } from '@nestjs/common';
import { isPlainObject } from '../common/is-plain-object.js';
import type {
  JwtIssuerCapability,
  RequirementCheck,
  ResolvedSections,
} from './capability.interface.js';
import { ConfigProblems } from './config-problems.js';
import { envVarLookup, unknownEnvVars } from './env.js';
import type { NormalizeContext } from './normalize-context.interface.js';

/** The context normalizers get when the caller gives none: `NODE_ENV` and the module's logger. */
export function defaultNormalizeContext(): NormalizeContext {
  return {
    production: process.env.NODE_ENV === 'production',
    logger: new Logger('JwtIssuerModule'),
  };
}

/** What {@link resolveCapabilityOptions} checks beyond the sections themselves. */
export interface ResolveChecks {
  /** Further top-level option names that are not sections. @default ['ignoreEnvVars'] */
  extraKeys?: readonly string[];
  /** Capabilities the application declared it needs (section names or a capability's `requirements` keys). */
  required?: readonly string[];
  /**
   * The raw environment and the prefix of the module's variables: a set variable with that prefix that no
   * capability reads (a typo) is a problem naming the closest known variable. Skipped when `ignoreEnvVars`.
   */
  environment?: {
    prefix: string;
    variables: Readonly<Record<string, string | undefined>>;
  };
}

/**
 * Merges explicit options over environment options (key by key inside each section), validates every capability's
 * section, checks the `required` capabilities, and throws one {@link JwtIssuerConfigError} listing every problem.
 * Never mutates its inputs.
 */
export async function resolveCapabilityOptions(
  capabilities: readonly JwtIssuerCapability[],
  explicit: object | undefined,
  fromEnv: object | undefined,
  context: NormalizeContext = defaultNormalizeContext(),
  {
    extraKeys = ['ignoreEnvVars'],
    required = [],
    environment,
  }: ResolveChecks = {},
): Promise<ResolvedSections> {
  const specs = capabilities.flatMap((c) => c.envVars);
  const problems = new ConfigProblems(envVarLookup(specs));
  const sections = capabilities.map((c) => c.section);
  const given =
    explicit === undefined
      ? {}
      : (problems.section('', explicit, [...sections, ...extraKeys]) ?? {});
  const env: Record<string, unknown> =
    given.ignoreEnvVars === true || !isPlainObject(fromEnv) ? {} : fromEnv;
  if (environment && given.ignoreEnvVars !== true) {
    // An error, not a warning: a misspelled variable silently turns its setting off, and some of those fail open
    // (a misspelled expected audience disables the audience check).
    for (const { name, closest } of unknownEnvVars(
      specs,
      environment.variables,
      environment.prefix,
    )) {
      problems.add(
        name,
        `is not a variable nest-jwt-issuer reads${closest ? `: did you mean ${closest}?` : ''} (the ${environment.prefix} prefix is reserved for its variables)`,
      );
    }
  }

  const resolved: Record<string, unknown> = {};
  const absent = new Set<string>();
  for (const { section, normalize } of capabilities) {
    const a = env[section];
    const b = given[section];
    if (a === undefined && b === undefined) {
      absent.add(section);
      continue;
    }
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
  await checkRequired(
    capabilities,
    required,
    resolved,
    absent,
    problems,
    context,
  );
  problems.throwIfAny();
  context.logger.log(
    `Capabilities: ${capabilities
      .map(({ section, describe }) => {
        const r = resolved[section];
        return `${section} ${r === undefined ? 'off' : (describe?.(r) ?? 'on')}`;
      })
      .join(', ')}`,
  );
  return resolved;
}

/**
 * Reports each required capability that the configuration does not give: for an absent section, a first line naming
 * the requirement, then every option (and variable) to set. A section that failed its own validation is not
 * reported again.
 */
async function checkRequired(
  capabilities: readonly JwtIssuerCapability[],
  required: readonly string[],
  resolved: Record<string, unknown>,
  absent: ReadonlySet<string>,
  problems: ConfigProblems,
  context: NormalizeContext,
): Promise<void> {
  if (!Array.isArray(required)) {
    problems.add('require', 'must be a list of capability names');
    return;
  }
  const known = capabilities.flatMap((c) => [
    ...new Set([c.section, ...Object.keys(c.requirements ?? {})]),
  ]);
  const owner = (name: string) =>
    capabilities.findIndex(
      (x) => x.section === name || Object.hasOwn(x.requirements ?? {}, name),
    );
  // Reported in the order of the capabilities, like their own problems.
  const names = [...new Set(required.map(String))].toSorted(
    (a, b) => owner(a) - owner(b),
  );
  for (const name of names) {
    const c = capabilities[owner(name)];
    if (!c) {
      problems.add(
        'require',
        `'${name}' is not a capability (known: ${known.join(', ')})`,
      );
      continue;
    }
    const section = resolved[c.section];
    if (section === undefined && !absent.has(c.section)) continue;
    const check = (
      c.requirements as Record<string, RequirementCheck<unknown>> | undefined
    )?.[name];
    if (check) {
      check(section, problems, context);
    } else if (section === undefined) {
      problems.add(
        c.section,
        `is required (require: ['${name}']) but not configured; set:`,
      );
      await c.normalize({}, problems, context);
    }
  }
}
