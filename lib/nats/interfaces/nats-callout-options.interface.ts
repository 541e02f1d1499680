import type { Type } from '@nestjs/common';
import type { NatsAuthorizer } from './nats-callout.interface.js';
import type { NatsUserPermissions } from './nats-user-jwt.interface.js';

/** A further target account of operator mode, with the key that signs its users. */
export interface NatsCalloutAccount {
  /** Public key (`A…`). */
  accountId: string;
  /** Its signing key (`SA…`, a secret), preferably scoped. */
  signingKey: string;
  /** Its account JWT: tells whether the key is scoped. */
  accountJwt?: string;
}

/**
 * `nats.callout`: the auth-callout responder (ADR-26, nats-server ≥ 2.10). The module connects to `servers` as a user
 * that bypasses the callout, answers `$SYS.REQ.USER.AUTH` in a queue group, lets the application decide, and signs
 * each allowed client's user JWT on the spot. Needs the optional peer `@nats-io/transport-node`.
 */
export interface NatsCalloutOptions {
  /**
   * `config`: `authorization { auth_callout { issuer, auth_users, account?, xkey? } }` in the server configuration;
   * user JWTs signed by `issuerKey`, the target account **name** as `aud`. `operator`: the callout account JWT's
   * `authorization` (`auth_users`, `allowed_accounts`, `xkey`); user JWTs signed by the target account's signing key
   * (`nats.signingKey`, `accounts`). Env `JWT_ISSUER_NATS_CALLOUT_MODE`. @default 'config'
   */
  mode?: 'config' | 'operator';
  /** NATS URLs (env `JWT_ISSUER_NATS_CALLOUT_SERVERS`, comma-separated). */
  servers?: string | string[];
  /** Config mode: the responder's user, listed in `auth_users` (env `…_CALLOUT_USER`). */
  user?: string;
  /** Its password (a secret; env `…_CALLOUT_PASS`). */
  pass?: string;
  /** A token to connect with instead (a secret; env `…_CALLOUT_TOKEN`). */
  token?: string;
  /** Operator mode: `.creds` text or file path of a user listed in `auth_users` (a secret; env `…_CALLOUT_CREDS`). */
  creds?: string;
  /** Connection name. @default 'nest-jwt-issuer auth callout' */
  name?: string;
  /** Queue group shared by the replicas (env `…_CALLOUT_QUEUE`). @default 'nest-jwt-issuer' */
  queue?: string;
  /**
   * Config mode (required): seed (`SA…`, a secret) of `auth_callout.issuer`; it signs responses and user JWTs.
   * Operator mode: a key or signing key of the callout account that signs responses. @default `nats.signingKey`
   * (env `…_CALLOUT_ISSUER_KEY`)
   */
  issuerKey?: string;
  /**
   * Seed (`SX…`, a secret) of the curve key whose public key (`X…`) is the server's `xkey`: requests and responses
   * are then sealed. Set exactly when the server has an xkey (env `…_CALLOUT_XKEY`).
   */
  xkey?: string;
  /**
   * Default target account: config mode an account name (`APP`, default `$G`); operator mode an `A…` key the
   * responder can sign for (default `nats.accountId`). Env `…_CALLOUT_ACCOUNT`.
   */
  account?: string;
  /** Operator mode: the account whose JWT has the `authorization` section. @default `nats.accountId` */
  calloutAccount?: string;
  /** Operator mode: further target accounts (they must be in the callout account's `allowed_accounts`). */
  accounts?: NatsCalloutAccount[];
  /** The server's auth timeout in seconds; work stops a little before it (env `…_CALLOUT_TIMEOUT`). @default 2 */
  timeout?: number;
  /** Decisions running at once (env `…_CALLOUT_MAX_CONCURRENCY`). @default 64 */
  maxConcurrency?: number;
  /** Requests waiting beyond those; more are dropped (env `…_CALLOUT_MAX_PENDING`). @default 10000 */
  maxPending?: number;
  /** Larger requests are dropped unread. @default 65536 */
  maxRequestBytes?: number;
  /** The longest user JWT lifetime, in seconds; decisions are clamped to it (env `…_CALLOUT_MAX_EXPIRES_IN`). @default 3600 */
  maxExpiresIn?: number;
  /**
   * Who decides: `'service-token'` (the client's `auth_token` is a service token, verified by the `service`
   * section's verifier), `'password'` (development: `users`), an authorizer class (a provider of the application,
   * or instantiated by the module), or, by default, the method marked `@NatsAuthCallout()` (env
   * `…_CALLOUT_AUTHORIZER`: `service-token` or `password`).
   */
  authorizer?: 'service-token' | 'password' | Type<NatsAuthorizer>;
  /**
   * The `'service-token'` authorizer: `aud` values a client's token must carry one of, so that a token minted for
   * another service cannot open a NATS connection (env `…_CALLOUT_AUDIENCE`, a comma-separated list). Required by
   * that authorizer unless `service.expectedAudience` is set (then the verifier checks that one); when both are set, a
   * token must satisfy both. @default none
   */
  audience?: string | string[];
  /** Built-in authorizers: claims whose values become tags `claim:value` (env `…_CALLOUT_TAG_CLAIMS`). */
  tagClaims?: string[];
  /**
   * Built-in authorizers: the users' permissions, where `{{name()}}` is the user's name and `{{tag(x)}}` each value
   * of its `x:` tags, e.g.
   * `{ pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] }, sub: { allow: ['users.{{name()}}.>', '_INBOX.>'] } }`.
   * An `allow` entry whose value is missing or unsafe in a subject is left out; an `allow` list left with no entry
   * refuses the connection (see `emptyAllow`); a `deny` entry that cannot be expanded refuses the connection. Not
   * with a scoped signing key (its template applies). Env `…_CALLOUT_PERMISSIONS` (JSON).
   */
  permissions?: NatsUserPermissions;
  /**
   * Built-in authorizers: what a non-empty `allow` list of `permissions` that expands to no subject becomes:
   * `'refuse-connection'` (the connection is denied, with the reason logged) or `'deny-all'` (the user connects, and
   * may neither publish nor subscribe in that direction: `deny: [">"]`). Never an empty list, which nats-server reads
   * as every subject (env `…_CALLOUT_EMPTY_ALLOW`). @default 'refuse-connection'
   */
  emptyAllow?: 'refuse-connection' | 'deny-all';
  /** The `'password'` authorizer's users: `{ name: password }` (secrets; env `…_CALLOUT_USERS`, JSON). */
  users?: Record<string, string>;
}
