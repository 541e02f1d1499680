/** Subjects a NATS user may (`allow`) or may not (`deny`) publish or subscribe to. */
export interface NatsPermission {
  /** Subjects allowed (wildcards `*` and `>` accepted). */
  allow?: readonly string[];
  /** Subjects denied; deny wins over allow. */
  deny?: readonly string[];
}

/** Permission to answer requests: how many responses (`max`) for how long (`ttl`, nanoseconds as Go writes it). */
export interface NatsResponsePermission {
  /** Maximum number of responses per request. */
  max: number;
  /** Time to live of the permission, in nanoseconds. @default 0 (no limit) */
  ttl?: number;
}

/** A user's permissions (the Go `nats-io/jwt` v2 `Permissions`). Only for users of a **non-scoped** signing key. */
export interface NatsUserPermissions {
  /** Publish permissions. */
  pub?: NatsPermission;
  /** Subscribe permissions. */
  sub?: NatsPermission;
  /** Response permissions (allows replying to requests received). */
  resp?: NatsResponsePermission;
}

/** A daily time window in which the user may connect, `"15:04:05"` format. */
export interface NatsTimeRange {
  start: string;
  end: string;
}

/** Connection types a user may be limited to. */
export type NatsConnectionType =
  | 'STANDARD'
  | 'WEBSOCKET'
  | 'LEAFNODE'
  | 'LEAFNODE_WS'
  | 'MQTT'
  | 'MQTT_WS'
  | 'IN_PROCESS';

/**
 * A user's limits (the Go `nats-io/jwt` v2 `Limits` and user flags). Only for users of a **non-scoped** signing key.
 * Numeric limits that are not given are written as `-1` (unlimited), as Go's `NewUserClaims` does: a non-scoped user
 * without `subs` is refused every subscription by the server.
 */
export interface NatsUserLimits {
  /** CIDR blocks the user may connect from. */
  src?: readonly string[];
  /** Time windows the user may connect in. */
  times?: readonly NatsTimeRange[];
  /** IANA time zone of `times` (`times_location`). */
  timesLocation?: string;
  /** Maximum subscriptions. @default -1 (unlimited) */
  subs?: number;
  /** Maximum bytes. @default -1 (unlimited) */
  data?: number;
  /** Maximum message payload bytes. @default -1 (unlimited) */
  payload?: number;
  /** The JWT alone authenticates (no nonce signature). @default false */
  bearerToken?: boolean;
  /** Connection types allowed. @default all */
  allowedConnectionTypes?: readonly NatsConnectionType[];
}

/** A user value a scope template can write into subjects: `name` (`{{name()}}`) or `tags` (`{{tag(x)}}`). */
export type NatsTemplateValue = 'name' | 'tags';

/** What a user JWT says about the user (everything except the keys). */
export interface NatsUserClaimsOptions {
  /**
   * Human-readable name (`name` claim; `{{name()}}` in scope templates). Unless the signing key is known to be
   * non-scoped, a name that would change a subject once templated is refused (`*`, `>`, `.`, whitespace, control
   * characters): see {@link NatsUserClaimsOptions.valuesNotInTemplate}. @default the public user key
   */
  name?: string;
  /** Lifetime in whole seconds (`exp = iat + expiresIn`). @default none: the JWT never expires */
  expiresIn?: number;
  /**
   * Tags (`nats.tags`), e.g. `team:blue` for a scope template's `{{tag(team)}}`. Matching is case-sensitive on a
   * lower-case prefix. Refused like `name` when they could change a subject, and also when the value after `:` is
   * empty (`team:`). @default none: the `tags` field is left out
   */
  tags?: readonly string[];
  /**
   * **Opt-out of a safety check.** The values your scoped signing key's template does **not** use: they are then
   * written unchecked (e.g. `['name']` for a template without `{{name()}}`, to keep e-mail addresses as names). If
   * the template does use a value listed here, a name like `*` gives the user every other user's subjects. Not
   * needed when the key is known to be non-scoped (`accountJwt`): names and tags are then mere labels.
   * @default none: both `name` and `tags` are checked
   */
  valuesNotInTemplate?: readonly NatsTemplateValue[];
  /**
   * Permissions, only for a **non-scoped** signing key (a scoped key's template replaces them, and the server refuses
   * a scoped user that carries any).
   */
  permissions?: NatsUserPermissions;
  /** Limits, only for a **non-scoped** signing key (see {@link NatsUserLimits}). */
  limits?: NatsUserLimits;
  /** Issue time in unix seconds, for reproducible output. @default now */
  issuedAt?: number;
}

/** Options of {@link issueUserJwt}: ADR-14's arguments, as an object. */
export interface IssueUserJwtOptions extends NatsUserClaimsOptions {
  /** Seed of the account's (scoped) signing key, `SA…`: signs the JWT. A secret. */
  signingKey: string;
  /** Public key of the account, `A…` (`nats.issuer_account`). */
  accountId: string;
  /** Public key of the user, `U…` (`sub`). */
  publicUserKey: string;
  /**
   * The account JWT. When given it is checked (signature, subject = `accountId`, `signingKey` listed; the result is
   * cached) and tells whether the signing key is scoped: then `permissions`/`limits` are refused, and for a
   * non-scoped key `name` and tags are not checked against template widening. @default none: the scope is unknown
   */
  accountJwt?: string;
}

/** Options of `NatsUserJwtService.issueUserJwt`: the account and signing key come from the module's configuration. */
export interface NatsIssueUserJwtOptions extends NatsUserClaimsOptions {
  /** Public key of the user, `U…`. */
  publicUserKey: string;
}

/** Options of `NatsUserJwtService.createUser`. */
export type NatsCreateUserOptions = NatsUserClaimsOptions;

/** A freshly created NATS user: its keys, its JWT and a ready `.creds` text. */
export interface NatsUserCredentials {
  /** Public user key, `U…`. */
  publicKey: string;
  /** User seed, `SU…`: a secret, hand it only to that user. */
  seed: string;
  /** The user JWT. */
  jwt: string;
  /** JWT and seed in the Go `FormatUserConfig` layout (a `.creds` file): a secret. */
  creds: string;
}
