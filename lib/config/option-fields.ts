import type { ConfigProblems } from './config-problems.js';
import type { EnvVarKind } from './env-var.interface.js';

/** What a field's check returns for a value it refused, after recording the problem. */
export const INVALID: unique symbol = Symbol('INVALID');
/** The type of {@link INVALID}. */
export type Invalid = typeof INVALID;

/** Whether a field always has a value once its section is valid: it has a default, or it is required. */
export type Presence = 'optional' | 'default' | 'required';

/**
 * One option, declared once: how it is checked and converted, its default, whether it is required or secret, and
 * how its environment variable is read. The TSDoc comment above the field in its section's table is the option's
 * description (shown by IDEs through {@link OptionsOf}, and on the reference page). Build fields with the kinds
 * below ({@link text}, {@link number}, {@link flag}, {@link list}, {@link oneOf}, {@link custom}, {@link section},
 * {@link items}).
 *
 * @typeParam In - what a user may write (the public option's type).
 * @typeParam Out - the value after validation.
 * @typeParam P - whether the value is always there once the section is valid.
 */
export interface OptionField<In = unknown, Out = unknown, P = Presence> {
  /** How its environment variable's text is parsed; `undefined`: the option has no variable. */
  readonly env: EnvVarKind | undefined;
  /** The variable's name when it does not follow the rule (the prefix, then the option's path in CONSTANT_CASE). */
  readonly envName: string | undefined;
  /** Secret: never echoed in errors or logs. */
  readonly secret: boolean;
  /** The value when the option is absent (or refused, so that the rules that span fields still run). */
  readonly default: Out | undefined;
  /** The problem recorded when the option is absent; `undefined`: the option is optional. */
  readonly required: string | undefined;
  /** The options of a nested section (`nats.callout`), whose variables follow this option's path. */
  readonly fields: OptionFields | undefined;
  /** The options of each item of a list (`service.trustedIssuers`). */
  readonly itemFields: OptionFields | undefined;
  /** Checks a present value: returns it (converted), or records the problem at `path` and returns {@link INVALID}. */
  check(value: unknown, path: string, problems: ConfigProblems): Out | Invalid;
  /** Types only (never set). */
  readonly types?: { in: In; out: Out; presence: P };
}

/** A table of options: a section, a nested section, or the options of a list's items. */
export type OptionFields = Readonly<Record<string, OptionField>>;

/** The options a user may write, from a table: every one optional. Each keeps its field's TSDoc. */
export type OptionsOf<F extends OptionFields> = {
  -readonly [K in keyof F]?: NonNullable<F[K]['types']>['in'];
};

/** The keys of the required options of a table. */
type RequiredKeys<F extends OptionFields> = {
  [K in keyof F]: NonNullable<F[K]['types']>['presence'] extends 'required'
    ? K
    : never;
}[keyof F];

/** The options of an item of a list, as a user writes them: the required ones required, the others optional. */
export type ItemOptionsOf<F extends OptionFields> = {
  -readonly [
    K in keyof F as K extends RequiredKeys<F> ? K : never
  ]-?: NonNullable<F[K]['types']>['in'];
} & {
  -readonly [
    K in keyof F as K extends RequiredKeys<F> ? never : K
  ]?: NonNullable<F[K]['types']>['in'];
};

/** The value of one field after validation: `Out`, or `Out | undefined` when it may be absent. */
export type OptionValue<
  F extends OptionField,
  Out = NonNullable<F['types']>['out'],
  Complete extends boolean = true,
> = NonNullable<F['types']>['presence'] extends 'default'
  ? Out
  : NonNullable<F['types']>['presence'] extends 'required'
    ? Complete extends true
      ? Out
      : Out | undefined
    : Out | undefined;

/**
 * The values of a table after validation: an option with a default is always there, a required one once the object
 * is valid (`Complete`), an optional one may be `undefined`.
 */
export type OptionValues<
  F extends OptionFields,
  Complete extends boolean = true,
> = {
  readonly [K in keyof F]: OptionValue<
    F[K],
    NonNullable<F[K]['types']>['out'],
    Complete
  >;
};

/** What every kind accepts. */
export interface FieldOptions {
  /** Never echoed in errors or logs. @default false */
  secret?: boolean;
  /** `false`: the option has no environment variable. @default the kind's */
  env?: false;
  /** The variable's name, when it does not follow the rule. */
  envName?: string;
  /** Required: `true` records `is required` when the option is absent, a text records that text. */
  required?: true | string;
}

type PresenceOf<O> = O extends { default: unknown }
  ? 'default'
  : O extends { required: true | string }
    ? 'required'
    : 'optional';

function field<In, Out, P>(
  o: Omit<FieldOptions, 'env'> & { default?: Out; env?: EnvVarKind | false },
  kindEnv: EnvVarKind | undefined,
  check: OptionField<In, Out, P>['check'],
  nested: Pick<OptionField, 'fields' | 'itemFields'> = {
    fields: undefined,
    itemFields: undefined,
  },
): OptionField<In, Out, P> {
  return {
    env: o.env === false ? undefined : (o.env ?? kindEnv),
    envName: o.envName,
    secret: o.secret ?? false,
    default: o.default,
    required: o.required === true ? 'is required' : o.required,
    ...nested,
    check,
  };
}

/** Records `message` at `path` and returns {@link INVALID}. */
function refuse(
  problems: ConfigProblems,
  path: string,
  message: string,
): Invalid {
  problems.add(path, message);
  return INVALID;
}

/** Options of {@link text}. */
export interface TextOptions extends FieldOptions {
  default?: string;
  /** Accept a value of spaces only (never the empty string). @default false */
  blank?: boolean;
  /** The value must match. */
  match?: RegExp;
  /** The value must not match. */
  refuse?: RegExp;
  /** The problem of a value refused. @default 'must be a non-empty string' */
  message?: string;
}

/** A non-empty string (environment: the text). */
export function text<const O extends TextOptions>(
  o: O = {} as O,
): OptionField<string, string, PresenceOf<O>> {
  const message = o.message ?? 'must be a non-empty string';
  return field(o, 'string', (v, path, problems) =>
    typeof v !== 'string' ||
    (o.blank ? v === '' : v.trim() === '') ||
    (o.match && !o.match.test(v)) ||
    o.refuse?.test(v)
      ? refuse(problems, path, message)
      : v,
  );
}

/** Options of {@link number}. */
export interface NumberOptions extends FieldOptions {
  default?: number;
  /** The smallest value accepted (with `above`, the largest refused). */
  min: number;
  /** The largest value accepted. @default none */
  max?: number;
  /** Refuse `min` itself. @default false */
  above?: boolean;
  /** Only whole numbers. @default false */
  integer?: boolean;
  /** Round down a value accepted (a count given as 8.7 is 8). @default false */
  floor?: boolean;
  /** The problem of a value refused (a function gets the value; never used for a secret). */
  message: string | ((value: unknown) => string);
}

/** A finite number within bounds (environment: the number, or the text when it is none). */
export function number<const O extends NumberOptions>(
  o: O,
): OptionField<number, number, PresenceOf<O>> {
  return field(o, 'number', (v, path, problems) => {
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      (o.integer && !Number.isInteger(v)) ||
      (o.above ? v <= o.min : v < o.min) ||
      (o.max !== undefined && v > o.max)
    ) {
      return refuse(
        problems,
        path,
        typeof o.message === 'string' ? o.message : o.message(v),
      );
    }
    return o.floor ? Math.floor(v) : v;
  });
}

/** Options of {@link flag}. */
export interface FlagOptions extends FieldOptions {
  default?: boolean;
}

/** `true` or `false` (environment: `true/yes/on/1`, `false/no/off/0`). */
export function flag<const O extends FlagOptions>(
  o: O,
): OptionField<boolean, boolean, PresenceOf<O>> {
  return field(o, 'boolean', (v, path, problems) =>
    typeof v === 'boolean'
      ? v
      : refuse(problems, path, 'must be a boolean (true/false)'),
  );
}

/** Options of {@link list}. */
export interface ListOptions extends FieldOptions {
  default?: string[];
  /** How a string is taken: `one` item, or `split` at this pattern. @default a string is refused */
  string?: 'one' | RegExp;
  /** Accept an empty list. @default false */
  empty?: boolean;
  /** Each item must be a non-empty string, and pass this. */
  item?: (item: string) => boolean;
  /** The problem of a value refused. */
  message: string;
}

type ListInput<O> = O extends { string: 'one' | RegExp }
  ? string | string[]
  : string[];

/** A list of non-empty strings (environment: comma-separated). The value is a copy. */
export function list<const O extends ListOptions>(
  o: O,
): OptionField<ListInput<O>, string[], PresenceOf<O>> {
  return field(o, 'list', (v, path, problems) => {
    const values =
      typeof v !== 'string' || o.string === undefined
        ? v
        : o.string === 'one'
          ? [v]
          : v.split(o.string);
    if (
      !Array.isArray(values) ||
      (!o.empty && values.length === 0) ||
      values.some(
        (x) => typeof x !== 'string' || x === '' || (o.item && !o.item(x)),
      )
    ) {
      return refuse(problems, path, o.message);
    }
    return [...(values as string[])];
  });
}

/** Options of {@link oneOf}. */
export interface OneOfOptions<T> extends FieldOptions {
  default?: T;
  /** The problem of a value refused. @default 'must be one of A, B, C' */
  message?: string;
}

/** One of a few strings (environment: the text). */
export function oneOf<T extends string, const O extends OneOfOptions<T>>(
  values: readonly T[],
  o: O = {} as O,
): OptionField<T, T, PresenceOf<O>> {
  const message = o.message ?? `must be one of ${values.join(', ')}`;
  return field(o, 'string', (v, path, problems) =>
    values.includes(v as T) ? (v as T) : refuse(problems, path, message),
  );
}

/** Options of {@link custom}. */
export interface CustomOptions<Out> extends Omit<FieldOptions, 'env'> {
  default?: Out;
  /** How its environment variable is read. @default no variable */
  env?: EnvVarKind | false;
}

/**
 * An option with a check of its own (a key, a template), or with none: without `check` the value is passed on as
 * given, and the section's rules check it (an option whose meaning depends on others).
 *
 * @typeParam In - what a user may write.
 * @typeParam Out - the value after `check`.
 */
export function custom<In, Out = In>(
  o: CustomOptions<Out> & { default: Out },
  check?: OptionField<In, Out>['check'],
): OptionField<In, Out, 'default'>;
export function custom<In, Out = In>(
  o: CustomOptions<Out> & { required: true | string },
  check?: OptionField<In, Out>['check'],
): OptionField<In, Out, 'required'>;
export function custom<In, Out = In>(
  o?: CustomOptions<Out>,
  check?: OptionField<In, Out>['check'],
): OptionField<In, Out, 'optional'>;
export function custom<In, Out>(
  o: CustomOptions<Out> = {},
  check: OptionField<In, Out>['check'] = (v) => v as Out,
): OptionField<In, Out, Presence> {
  return field(o, undefined, check);
}

/**
 * A nested section (`nats.callout`): a table of its own, each option with its variable under this option's path.
 * The value is passed on as given; the nested section's normalizer reads it.
 */
export function section<In>(
  fields: OptionFields,
  o: Omit<FieldOptions, 'required'> = {},
): OptionField<In, unknown, 'optional'> {
  return field({ ...o, env: false }, undefined, (v) => v, {
    fields,
    itemFields: undefined,
  });
}

/**
 * A list of objects (`service.trustedIssuers`) whose items have a table of their own; the list has one variable,
 * JSON. The value is passed on as given (or the default, `[]`, when it has one); the section's rules read each item.
 */
export function items<In>(
  fields: OptionFields,
  o: ItemsOptions & { default: [] },
): OptionField<In[], unknown, 'default'>;
export function items<In>(
  fields: OptionFields,
  o?: ItemsOptions,
): OptionField<In[], unknown, 'optional'>;
export function items<In>(
  fields: OptionFields,
  o: ItemsOptions & { default?: [] } = {},
): OptionField<In[], unknown, Presence> {
  return field(o, undefined, (v) => v, {
    fields: undefined,
    itemFields: fields,
  });
}

/** Options of {@link items}. */
export interface ItemsOptions extends Omit<FieldOptions, 'required' | 'env'> {
  /** `'json'`: the list has a variable, JSON. @default no variable */
  env?: 'json' | false;
}
