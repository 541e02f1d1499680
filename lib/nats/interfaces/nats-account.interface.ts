import type { NatsConnectionType } from './nats-user-jwt.interface.js';

/** What is known of the signing key's scope: a scoped key's users may carry no permissions or limits. */
export type NatsSigningKeyScope = 'scoped' | 'unscoped' | 'unknown';

/** A subject permission in the JWT's own (Go JSON) shape. */
export interface NatsPermissionJson {
  allow?: string[];
  deny?: string[];
}

/**
 * The template of a scoped signing key (`signing_keys[].template` in the account JWT), in the JWT's own JSON shape:
 * the permissions and limits every user signed by that key gets. Subjects may use the template functions
 * `{{name()}}`, `{{subject()}}`, `{{account-name()}}`, `{{account-subject()}}`, `{{tag(x)}}`, `{{account-tag(x)}}`.
 */
export interface NatsScopeTemplate {
  pub?: NatsPermissionJson;
  sub?: NatsPermissionJson;
  resp?: { max: number; ttl: number };
  src?: string[];
  times?: { start: string; end: string }[];
  times_location?: string;
  /** Maximum subscriptions; `-1` unlimited. Absent means 0: every subscription is refused. */
  subs?: number;
  /** Maximum bytes; `-1` unlimited. */
  data?: number;
  /** Maximum payload bytes; `-1` unlimited. */
  payload?: number;
  bearer_token?: boolean;
  allowed_connection_types?: NatsConnectionType[];
}

/** A key pair of the development setup. */
export interface NatsDevelopmentKey {
  /** Public nkey (`O…`, `A…`). */
  publicKey: string;
  /** Seed (`S…`): a secret, even in development. */
  seed: string;
}

/** Options of {@link createNatsDevelopmentAccount}. */
export interface NatsDevelopmentAccountOptions {
  /** Operator name. @default 'nest-jwt-issuer-dev' */
  operatorName?: string;
  /** Account name (`{{account-name()}}`). @default 'DEV' */
  accountName?: string;
  /** Role of the scoped signing key. @default 'users' */
  role?: string;
  /**
   * Template of the scoped signing key.
   * @default pub/sub `users.{{name()}}.>` and `teams.{{tag(team)}}.>`, sub also `_INBOX.>`, unlimited subs/data/payload
   */
  template?: NatsScopeTemplate;
}

/** Options of {@link NatsDevelopmentAccount.serverConfig}. */
export interface NatsServerConfigOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Client port; `-1` picks a free one. @default 4222 */
  port?: number;
  /** Log why each authentication fails. @default true */
  debug?: boolean;
}

/** A development-only operator, account and scoped signing key, and what it takes to run a nats-server for them. */
export interface NatsDevelopmentAccount {
  /** The operator (trusted by the server). */
  operator: NatsDevelopmentKey & { jwt: string };
  /** The account; its JWT lists the scoped signing key. */
  account: NatsDevelopmentKey & { jwt: string; name: string };
  /** The scoped signing key that signs user JWTs. */
  signingKey: NatsDevelopmentKey & { role: string };
  /** The scope's template. */
  template: NatsScopeTemplate;
  /** The module's `nats` section for this account: `JwtIssuerModule.forRoot({ nats: dev.moduleOptions })`. */
  moduleOptions: { accountId: string; signingKey: string; accountJwt: string };
  /** A `nats-server` configuration (operator mode, memory resolver with the account preloaded). */
  serverConfig(options?: NatsServerConfigOptions): string;
}
