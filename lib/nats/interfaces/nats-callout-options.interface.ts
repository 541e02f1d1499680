import type { Type } from '@nestjs/common';
import { isPlainObject } from '../../common/is-plain-object.js';
import type { ConfigProblems } from '../../config/config-problems.js';
import {
  custom,
  type FieldOptions,
  INVALID,
  type Invalid,
  type ItemOptionsOf,
  items,
  list,
  number,
  oneOf,
  type OptionsOf,
  text,
} from '../../config/option-fields.js';
import type { NatsAuthorizer } from './nats-callout.interface.js';
import type { NatsUserPermissions } from './nats-user-jwt.interface.js';

/** The options of each further target account of operator mode (`nats.callout.accounts[]`) (internal). */
export const CALLOUT_ACCOUNT_OPTIONS = {
  /** Public key (`A…`). */
  accountId: custom<string>({ required: true }),
  /** Its signing key (`SA…`, a secret), preferably scoped. */
  signingKey: custom<string>({ required: true, secret: true }),
  /** Its account JWT: tells whether the key is scoped. */
  accountJwt: custom<string>(),
};

/** A further target account of operator mode, with the key that signs its users. */
export interface NatsCalloutAccount extends ItemOptionsOf<
  typeof CALLOUT_ACCOUNT_OPTIONS
> {}

/** A count of the responder: a number from `min` to `max`, rounded down. */
function count<const D extends number>(
  min: number,
  max: number,
  fallback: D,
  o: FieldOptions = {},
) {
  return number({
    ...o,
    default: fallback,
    min,
    max,
    floor: true,
    message: `must be a number from ${min} to ${max}`,
  });
}

/** `authorizer`: a built-in authorizer's name, or a class. */
function checkAuthorizer(
  value: unknown,
  path: string,
  problems: ConfigProblems,
): NatsCalloutOptions['authorizer'] | Invalid {
  if (
    value === 'service-token' ||
    value === 'password' ||
    typeof value === 'function'
  ) {
    return value as NatsCalloutOptions['authorizer'];
  }
  problems.add(
    path,
    "must be 'service-token', 'password' or an authorizer class (default: the method marked @NatsAuthCallout())",
  );
  return INVALID;
}

/** `users`: `{ name: password }`, every password a non-empty string. */
function checkUsers(
  value: unknown,
  path: string,
  problems: ConfigProblems,
): Record<string, string> | Invalid {
  if (
    isPlainObject(value) &&
    Object.values(value).every((p) => typeof p === 'string' && p !== '')
  ) {
    return value as Record<string, string>;
  }
  problems.add(
    path,
    'must be an object { name: password } (JSON in the environment)',
  );
  return INVALID;
}

/**
 * The options of `nats.callout`, each declared once (type, default, bounds, secrecy, description); the public type
 * is {@link NatsCalloutOptions}, the variables are `JWT_ISSUER_NATS_CALLOUT_<OPTION>` (internal).
 */
export const CALLOUT_OPTIONS = {
  /**
   * `config`: `authorization { auth_callout { issuer, auth_users, account?, xkey? } }` in the server configuration;
   * user JWTs signed by `issuerKey`, the target account **name** as `aud`. `operator`: the callout account JWT's
   * `authorization` (`auth_users`, `allowed_accounts`, `xkey`); user JWTs signed by the target account's signing key
   * (`nats.signingKey`, `accounts`). @default 'config'
   */
  mode: oneOf(['config', 'operator'], {
    default: 'config',
    message:
      "must be 'config' (authorization { auth_callout }) or 'operator' (the account JWT's authorization)",
  }),
  /** NATS URLs (comma-separated in the environment). */
  servers: list({
    string: 'one',
    item: (url) => /^(nats|tls|wss?):\/\/[^\s]+$|^[\w.-]+:\d+$/.test(url),
    required: 'is required: one or more NATS URLs (nats://host:4222)',
    message: 'is required: one or more NATS URLs (nats://host:4222)',
  }),
  /** Config mode: the responder's user, listed in `auth_users`. */
  user: text({ blank: true }),
  /** Its password (a secret). */
  pass: text({ blank: true, secret: true }),
  /** A token to connect with instead (a secret). */
  token: text({ blank: true, secret: true }),
  /** Operator mode: `.creds` text or file path of a user listed in `auth_users` (a secret). */
  creds: custom<string>({ env: 'string', secret: true }),
  /** Connection name. @default 'nest-jwt-issuer auth callout' */
  name: text({
    blank: true,
    env: false,
    default: 'nest-jwt-issuer auth callout',
  }),
  /** Queue group shared by the replicas. @default 'nest-jwt-issuer' */
  queue: text({ blank: true, default: 'nest-jwt-issuer' }),
  /**
   * Config mode (required): seed (`SA…`, a secret) of `auth_callout.issuer`; it signs responses and user JWTs.
   * Operator mode: a key or signing key of the callout account that signs responses. @default `nats.signingKey`
   */
  issuerKey: custom<string>({ env: 'string', secret: true }),
  /**
   * Seed (`SX…`, a secret) of the curve key whose public key (`X…`) is the server's `xkey`: requests and responses
   * are then sealed. Set exactly when the server has an xkey.
   */
  xkey: custom<string>({ env: 'string', secret: true }),
  /**
   * Default target account: config mode an account name (`APP`, default `$G`); operator mode an `A…` key the
   * responder can sign for (default `nats.accountId`).
   */
  account: custom<string>({ env: 'string' }),
  /** Operator mode: the account whose JWT has the `authorization` section. @default `nats.accountId` */
  calloutAccount: custom<string>({ env: 'string' }),
  /** Operator mode: further target accounts (they must be in the callout account's `allowed_accounts`). */
  accounts: items<NatsCalloutAccount>(CALLOUT_ACCOUNT_OPTIONS),
  /** The server's auth timeout in seconds; work stops a little before it. @default 2 */
  timeout: number({
    default: 2,
    min: 0.5,
    max: 60,
    message: 'must be a number from 0.5 to 60',
  }),
  /** Decisions running at once. @default 64 */
  maxConcurrency: count(1, 10_000, 64),
  /** Requests waiting beyond those; more are dropped. @default 10000 */
  maxPending: count(1, 1_000_000, 10_000),
  /** Larger requests are dropped unread. @default 65536 */
  maxRequestBytes: count(1024, 1 << 24, 64 * 1024, { env: false }),
  /** The longest user JWT lifetime, in seconds; decisions are clamped to it. @default 3600 */
  maxExpiresIn: count(1, 366 * 86400, 3600),
  /**
   * Who decides: `'service-token'` (the client's `auth_token` is a service token, verified by the `service`
   * section's verifier), `'password'` (development: `users`), an authorizer class (a provider of the application,
   * or instantiated by the module), or, by default, the method marked `@NatsAuthCallout()` (in the environment:
   * `service-token` or `password`).
   */
  authorizer: custom<'service-token' | 'password' | Type<NatsAuthorizer>>(
    { env: 'string' },
    checkAuthorizer,
  ),
  /**
   * The `'service-token'` authorizer: `aud` values a client's token must carry one of, so that a token minted for
   * another service cannot open a NATS connection (a comma-separated list in the environment). Required by that
   * authorizer unless `service.expectedAudience` is set (then the verifier checks that one); when both are set, a
   * token must satisfy both. @default none
   */
  audience: list({
    string: 'one',
    message: 'must be an audience or a list of them (non-empty strings)',
  }),
  /** Built-in authorizers: claims whose values become tags `claim:value`. @default [] */
  tagClaims: list({
    default: [],
    empty: true,
    item: (claim) => /^[a-z0-9_-]{1,64}$/.test(claim),
    message:
      'must be a list of claim names (lower case: they become tag prefixes, team → team:blue)',
  }),
  /**
   * Built-in authorizers: the users' permissions, where `{{name()}}` is the user's name and `{{tag(x)}}` each value
   * of its `x:` tags, e.g.
   * `{ pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] }, sub: { allow: ['users.{{name()}}.>', '_INBOX.>'] } }`.
   * An `allow` entry whose value is missing or unsafe in a subject is left out; an `allow` list left with no entry
   * refuses the connection (see `emptyAllow`); a `deny` entry that cannot be expanded refuses the connection. Not
   * with a scoped signing key (its template applies). JSON in the environment.
   */
  permissions: custom<NatsUserPermissions>({ env: 'json' }),
  /**
   * Built-in authorizers: what a non-empty `allow` list of `permissions` that expands to no subject becomes:
   * `'refuse-connection'` (the connection is denied, with the reason logged) or `'deny-all'` (the user connects, and
   * may neither publish nor subscribe in that direction: `deny: [">"]`). Never an empty list, which nats-server reads
   * as every subject. @default 'refuse-connection'
   */
  emptyAllow: oneOf(['refuse-connection', 'deny-all'], {
    default: 'refuse-connection',
    message: "must be 'refuse-connection' or 'deny-all'",
  }),
  /** The `'password'` authorizer's users: `{ name: password }` (secrets; JSON in the environment). */
  users: custom<Record<string, string>>(
    { env: 'json', secret: true },
    checkUsers,
  ),
};

/**
 * `nats.callout`: the auth-callout responder (ADR-26, nats-server ≥ 2.10). The module connects to `servers` as a user
 * that bypasses the callout, answers `$SYS.REQ.USER.AUTH` in a queue group, lets the application decide, and signs
 * each allowed client's user JWT on the spot. Needs the optional peer `@nats-io/transport-node`.
 */
export interface NatsCalloutOptions extends OptionsOf<typeof CALLOUT_OPTIONS> {}
