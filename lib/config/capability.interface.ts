import type { InjectionToken, Provider } from '@nestjs/common';
import type { JwtIssuerHealthPart } from '../common/health.js';
import type { ConfigProblems } from './config-problems.js';
import type { EnvVarSpec } from './env-var.interface.js';
import type { NormalizeContext } from './normalize-context.interface.js';
import type { OptionFields } from './option-fields.js';

/**
 * Everything the module needs to know about one capability, in one place: the section of the options it reads,
 * the environment variables that feed that section, the normalizer that validates it, and the providers built from
 * the result. The module composes a list of these; `lib/config` works on any list and knows no capability.
 *
 * @typeParam S - the section name, e.g. `'nats'`.
 * @typeParam R - the section's options after validation.
 * @typeParam Q - names of further requirements an application may declare (see `requirements`).
 */
export interface JwtIssuerCapability<
  S extends string = string,
  R = unknown,
  Q extends string = never,
> {
  /** Section of the module options (and the `JWT_ISSUER_<SECTION>_*` variables), e.g. `nats`. */
  readonly section: S;
  /**
   * The section's options, each declared once (type, default, bounds, secrecy, description): the source of its
   * variables, its known keys, its public and resolved types, its defaults and its reference table.
   */
  readonly options: OptionFields;
  /** Environment variables that feed the section (derived from `options`); every `path` starts with `<section>.`. */
  readonly envVars: readonly EnvVarSpec[];
  /**
   * Validates the merged raw section (environment overridden by explicit options), recording every problem in
   * `problems`. Returns the resolved section, or `undefined` when it has problems.
   */
  readonly normalize: (
    raw: unknown,
    problems: ConfigProblems,
    context: NormalizeContext,
  ) => R | undefined | Promise<R | undefined>;
  /** Providers of the capability; they read the resolved section with `capabilityProvider` or `resolvedSection`. */
  readonly providers: readonly Provider[];
  /**
   * What an application may list in the module's `require` beyond the plain section name, and the check of each
   * (a key equal to the section replaces the default check). Without one, requiring the section means it must be
   * configured: when it is absent, its normalizer is run on `{}` so that every missing option is reported.
   */
  readonly requirements?: Readonly<Partial<Record<Q, RequirementCheck<R>>>>;
  /**
   * The capability's part of the health report (`JwtIssuerHealthIndicator`), when it is configured: `inject` lists
   * the providers it reads, `report` returns the part (status and details) from their state now. It never waits on
   * the network, and its details hold no secret, token, or URL userinfo or query.
   */
  readonly health?: CapabilityHealth<R>;
  /** How the start-up line `Capabilities: …` shows the section when it is on. @default 'on' */
  readonly describe?: {
    // Method syntax, as in RequirementCheck.
    describe(resolved: R): string;
  }['describe'];
}

/**
 * Checks that a section serves a requirement the application declared; records what is missing in `problems`.
 * Runs when the section is absent (`resolved` is `undefined`) or valid, never after its own problems.
 */
export type RequirementCheck<R> = {
  // Method syntax: a check of one capability's section fits a list of capabilities of any section type.
  check(
    resolved: R | undefined,
    problems: ConfigProblems,
    context: NormalizeContext,
  ): void;
}['check'];

/** How a capability contributes to the health report (see {@link JwtIssuerCapability.health}). */
export interface CapabilityHealth<R> {
  /** Providers passed to `report` after the resolved section. */
  readonly inject: readonly InjectionToken[];
  /** The capability's part of the report, now. */
  report: {
    // Method syntax: a report of one capability's section fits a list of capabilities of any section type.
    report(resolved: R, ...deps: never[]): JwtIssuerHealthPart;
  }['report'];
}

/** The module's options after validation, by section (internal). An absent section means the capability is off. */
export type ResolvedSections = Readonly<Record<string, unknown>>;

/** The resolved options of one section, or `undefined` when the capability is off. */
export function resolvedSection<R>(
  resolved: ResolvedSections,
  section: string,
): R | undefined {
  return resolved[section] as R | undefined;
}
