import type {
  NatsUserLimits,
  NatsUserPermissions,
} from './nats-user-jwt.interface.js';

/** The server that asks (`nats.server_id` of the authorization request). */
export interface NatsAuthServer {
  name: string;
  host: string;
  /** The server's public nkey (`N…`, new at each server start): the request's signer. */
  id: string;
  version: string;
  cluster?: string;
  tags?: readonly string[];
  /** The server's public xkey when the exchange is encrypted. */
  xkey?: string;
}

/** Who connects (`nats.client_info`). */
export interface NatsAuthClientInfo {
  host?: string;
  /** The server's client id. */
  id?: number;
  /** With token authentication the server puts the **raw token** here: a secret. */
  user?: string;
  name?: string;
  tags?: readonly string[];
  nameTag?: string;
  kind?: string;
  type?: string;
  nonce?: string;
}

/** What the client sent in its CONNECT (`nats.connect_opts`). `jwt`, `sig`, `authToken` and `pass` are secrets. */
export interface NatsAuthConnectOptions {
  jwt?: string;
  nkey?: string;
  sig?: string;
  authToken?: string;
  user?: string;
  pass?: string;
  name?: string;
  lang?: string;
  version?: string;
  protocol?: number;
}

/** The client's TLS connection (`nats.client_tls`), when it has one. */
export interface NatsAuthClientTls {
  version?: string;
  cipher?: string;
  /** PEM certificates the client presented (when no chain was verified). */
  certs?: readonly string[];
  /** Verified chains, each a list of PEM certificates. */
  verifiedChains?: readonly (readonly string[])[];
}

/**
 * An authorization request of the auth callout (ADR-26), verified and camel-cased: signed by the server key named in
 * `server.id`, not expired, for a fresh user nkey. Holds the client's secrets (token, password, JWT): never log it;
 * {@link redactNatsAuthRequest} gives a copy that can be logged.
 */
export interface NatsAuthRequest {
  server: NatsAuthServer;
  /** The fresh user nkey (`U…`) the user JWT must be issued for (its `sub`). */
  userNkey: string;
  client: NatsAuthClientInfo;
  connectOptions: NatsAuthConnectOptions;
  tls?: NatsAuthClientTls;
  /** `jti` of the request. */
  requestId: string;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds: the server gives up then (its auth timeout). */
  expiresAt: number;
  /** Whether the request came sealed with the xkey. */
  encrypted: boolean;
}

/**
 * What an authorizer answers: allow (the user JWT is made from it) or deny (the reason is logged by the server and
 * this module; the client only ever sees "Authorization Violation").
 */
export type NatsAuthDecision = NatsAuthAllow | NatsAuthDeny;

/** Let the client in, with this user. */
export interface NatsAuthAllow {
  allow: true;
  /** The user's name (`name` of the user JWT). @default the user nkey */
  name?: string;
  /** Tags of the user JWT (`team:blue`: a scoped key's `{{tag(team)}}`). */
  tags?: readonly string[];
  /**
   * Target account. Config mode: an account **name** of the server configuration (`APP`), default `callout.account`.
   * Operator mode: an account public key (`A…`) the responder holds a signing key for, default `nats.accountId`.
   */
  account?: string;
  /** Permissions (not with a scoped signing key: its template applies). */
  permissions?: NatsUserPermissions;
  /** Limits (not with a scoped signing key). */
  limits?: NatsUserLimits;
  /** Lifetime in seconds, clamped to `callout.maxExpiresIn`. @default `callout.maxExpiresIn` */
  expiresIn?: number;
}

/** Keep the client out. */
export interface NatsAuthDeny {
  allow: false;
  /** Logged by the server (`auth callout service returned an error: …`) and here; never shown to the client. */
  reason: string;
}

/** What a decision method may return. */
export type NatsAuthDecisionResult =
  NatsAuthDecision | Promise<NatsAuthDecision>;

/**
 * An application class that decides (named in `callout.authorizer`): the module instantiates it through Nest, with
 * its dependencies injected.
 */
export interface NatsAuthorizer {
  /** Decides one request. `signal` aborts when the server has given up (then nothing is sent). */
  authorize(
    request: NatsAuthRequest,
    signal: AbortSignal,
  ): NatsAuthDecisionResult;
}

/** Counters of the responder since it started. */
export interface NatsCalloutStats {
  /** Requests received on the callout subject. */
  received: number;
  /** Answered with a user JWT. */
  allowed: number;
  /** Answered with an error (the authorizer denied, threw, or the user JWT could not be made). */
  denied: number;
  /** Dropped unanswered because they failed validation (bad signature, wrong audience, expired, malformed…). */
  invalid: number;
  /** Dropped because their sealing did not match the xkey configuration (the server then times the client out). */
  xkeyMismatch: number;
  /** Dropped because they were past their deadline before or after the decision (the server had given up). */
  shed: number;
  /** Dropped because the queue was full. */
  overloaded: number;
  /** Requests being decided now. */
  inFlight: number;
}
