import type { ConfigProblems } from './config-problems.js';
import type { EnvVarSpec } from './env-var.interface.js';
import {
  INVALID,
  type Invalid,
  type OptionField,
  type OptionFields,
  type OptionValue,
} from './option-fields.js';

/** The prefix of every environment variable the module reads; no other variable may use it. */
export const JWT_ISSUER_ENV_PREFIX = 'JWT_ISSUER_';

/**
 * Conversions that need more than the table knows (a key import, a file read), by option: each gets the checked
 * value (the default when the option is absent, `undefined` for an absent optional one) and returns the converted
 * one, or records the problem at `path` and returns `INVALID`. They run in the table's order, so that problems are
 * reported in it; none runs for a required option that is missing or a value refused without a default.
 */
export type OptionConverters<
  F extends OptionFields,
  R extends ConvertedTypes<F> = ConvertedTypes<F>,
> = {
  readonly [K in keyof R & keyof F]: (
    value: OptionValue<F[K]>,
    path: string,
    problems: ConfigProblems,
  ) => R[K];
};

/** What the converters of a table return, by option. */
export type ConvertedTypes<F extends OptionFields> = {
  readonly [K in keyof F]?: unknown;
};

/** The values of a table read with converters: each converted option has the type its converter returns. */
export type ReadValues<
  F extends OptionFields,
  R extends ConvertedTypes<F>,
  Complete extends boolean = true,
> = {
  readonly [K in keyof F]: OptionValue<
    F[K],
    K extends keyof R
      ? Exclude<R[K], Invalid>
      : NonNullable<F[K]['types']>['out'],
    Complete
  >;
};

/** An object of options as {@link readOptions} read it. */
export interface OptionsRead<
  F extends OptionFields,
  R extends ConvertedTypes<F> = object,
> {
  /** Each option's value: checked (and converted), or its default when it is absent or was refused. */
  readonly values: ReadValues<F, R, false>;
  /** The object as given (every key a known option). */
  readonly given: Readonly<Record<string, unknown>>;
  /** The options whose value was refused. */
  readonly refused: ReadonlySet<keyof F & string>;
  /** The values, when no problem was recorded since the object was read (by its options or by the rules after). */
  complete(): ReadValues<F, R> | undefined;
}

/**
 * Reads an object of options (a section, a nested section, an item of a list) at `path`: an unknown key, a missing
 * required option and a refused value are each recorded in `problems`, and reading goes on, so that every problem is
 * reported at once. `undefined` when `raw` is not an object.
 */
export function readOptions<
  F extends OptionFields,
  R extends ConvertedTypes<F> = object,
>(
  path: string,
  raw: unknown,
  fields: F,
  problems: ConfigProblems,
  converters?: OptionConverters<F, R>,
): OptionsRead<F, R> | undefined {
  const given = problems.section(path, raw, Object.keys(fields));
  if (!given) return undefined;
  const before = problems.list.length;
  const values: Record<string, unknown> = {};
  const refused = new Set<keyof F & string>();
  const convert = (key: string, value: unknown, at: string): unknown => {
    const converter = (
      converters as
        Record<string, OptionConverters<F, R>[keyof R & keyof F]> | undefined
    )?.[key];
    if (!converter) return value;
    const converted = converter(value, at, problems);
    if (converted !== INVALID) return converted;
    refused.add(key);
    return undefined;
  };
  for (const [key, field] of Object.entries(fields) as [
    string,
    OptionField,
  ][]) {
    const value = given[key];
    const at = `${path}.${key}`;
    if (value === undefined && field.required !== undefined) {
      problems.add(at, field.required);
      values[key] = undefined;
      continue;
    }
    const checked =
      value === undefined ? field.default : field.check(value, at, problems);
    if (checked === INVALID) refused.add(key);
    values[key] =
      checked === INVALID && field.default === undefined
        ? undefined
        : convert(key, checked === INVALID ? field.default : checked, at);
  }
  return {
    values: values as ReadValues<F, R, false>,
    given,
    refused,
    complete: () =>
      problems.list.length === before
        ? (values as ReadValues<F, R>)
        : undefined,
  };
}

/** The options of a table that have a default, with it. */
export type OptionDefaults<F extends OptionFields> = {
  readonly [
    K in keyof F as NonNullable<F[K]['types']>['presence'] extends 'default'
      ? K
      : never
  ]: NonNullable<F[K]['types']>['out'];
};

/**
 * The defaults of a table, by option: for code that takes some of a section's options on its own (a standalone
 * verifier), so that it applies the same defaults without declaring them again.
 */
export function optionDefaults<F extends OptionFields>(
  fields: F,
): OptionDefaults<F> {
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, field]) => field.default !== undefined)
      .map(([key, field]) => [key, field.default]),
  ) as OptionDefaults<F>;
}

/** `maxExpiresIn` → `MAX_EXPIRES_IN`, `nats.callout` → `NATS_CALLOUT`. */
function constantCase(path: string): string {
  return path
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/\./g, '_')
    .toUpperCase();
}

/**
 * The environment variables of a table of options at `path` (a section name, e.g. `seald`), in the table's order,
 * nested sections' after their option: the prefix and the option's path in CONSTANT_CASE
 * (`nats.callout.maxPending` → `JWT_ISSUER_NATS_CALLOUT_MAX_PENDING`), unless the field names its own.
 */
export function optionEnvVars(
  path: string,
  fields: OptionFields,
  prefix = JWT_ISSUER_ENV_PREFIX,
): EnvVarSpec[] {
  return Object.entries(fields).flatMap(([key, field]) => {
    const at = `${path}.${key}`;
    const own: EnvVarSpec[] = field.env
      ? [
          {
            env: field.envName ?? prefix + constantCase(at),
            path: at,
            kind: field.env,
            ...(field.secret ? { secret: true } : {}),
          },
        ]
      : [];
    return field.fields
      ? [...own, ...optionEnvVars(at, field.fields, prefix)]
      : own;
  });
}
