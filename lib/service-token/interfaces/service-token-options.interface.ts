import type { KeyObject } from 'node:crypto';
import type { PrivateKeyInput } from '../../common/keys.js';
import type { ServiceTokenKeyStore } from '../key-store/service-token-key-store.interface.js';

/** Asymmetric algorithms service tokens are signed with. */
export type ServiceTokenAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

/** An issuer whose service tokens this service accepts, and where its public keys are published. */
export interface TrustedIssuerOptions {
  /** The `iss` value the issuer puts in its tokens, e.g. `https://orders.internal`. */
  issuer: string;
  /** Absolute `http(s)` URL of its JWKS, e.g. `https://orders.internal/.well-known/jwks.json`. */
  jwksUri: string;
  /**
   * Algorithms its keys may use. A JWK with another `alg` is refused; a JWK without `alg` (RFC 7517 makes it
   * optional) is bound to the one of these that fits its `kty`/`crv`. @default ['RS256', 'ES256', 'EdDSA']
   */
  algorithms?: ServiceTokenAlgorithm[];
  /**
   * Accept a plain-`http` `jwksUri` to a host other than loopback (whoever is on the network path could swap the
   * keys): only where the path is protected otherwise, e.g. by a service mesh's mTLS. Without it such a URL is a
   * warning, and a start-up error in production. @default false
   */
  allowHttp?: boolean;
}

/**
 * Options of the `service` section: this service's own tokens (issuing side), the JWKS it publishes, and the
 * guard that verifies other services' tokens (receiving side). Durations are in seconds.
 *
 * @example
 * JwtIssuerModule.forRoot({
 *   service: {
 *     name: 'orders',
 *     issuer: 'https://orders.internal',
 *     privateKey: '/run/secrets/orders-service-key.pem',
 *     trustedIssuers: [{ issuer: 'https://billing.internal', jwksUri: 'https://billing.internal/.well-known/jwks.json' }],
 *   },
 * });
 */
export interface ServiceTokenOptions {
  /**
   * This service's name: the `sub` of its tokens. Required to issue tokens; a section without `name`, `issuer`,
   * `privateKey` or any other signing option only verifies (it then needs `trustedIssuers`).
   */
  name?: string;
  /**
   * The `iss` of this service's tokens: its base URL, an absolute `http(s)` URL without query, fragment or
   * credentials (else a start-up error); its `jwks_uri` is `issuer` + `jwksPath`. Required to issue tokens.
   */
  issuer?: string;
  /** `aud` put in this service's own token (one value or several). @default no `aud` */
  audience?: string | string[];
  /** When set, the guard accepts only tokens whose `aud` contains one of these values. @default no `aud` check */
  expectedAudience?: string | string[];
  /** Signing algorithm of the static and dynamic keys: `RS256`, `ES256` or `EdDSA`. @default 'RS256' */
  algorithm?: ServiceTokenAlgorithm;
  /**
   * The static signing key: PEM (PKCS#8, PKCS#1, SEC1), a private JWK (object or JSON text), a file holding either,
   * or a `KeyObject`; its `kid` is `s-<RFC 7638 thumbprint>`, the same in every replica and after restarts. Required
   * to issue tokens when `NODE_ENV` is `production`; otherwise a development key is generated, with a loud warning.
   * @default a development key, outside production
   */
  privateKey?: PrivateKeyInput;
  /**
   * Lifetime of this service's own token (`getToken()`, renewed at 75 % of it) and the default of `createJwt()`, in
   * seconds. @default 3600
   */
  tokenValidity?: number;
  /**
   * Enables dynamic keys (`kid` `d-<created ms>`) rotated every this many seconds; `getToken()` then signs with
   * the current dynamic key. A new key is published one interval before it signs, so verifiers must be able to
   * refetch the JWKS within one interval: an interval shorter than `jwksCooldown` (the cool-down the verifiers
   * of this service are assumed to use, as this service does; plus 2 s with a shared `keyStore`) is refused at
   * start-up. @default off (the static key signs everything)
   */
  rotationInterval?: number;
  /**
   * Where the replicas of this service share their keys. `'memory'`: each process keeps its own (one replica).
   * A `redis://` or `rediss://` URL (needs the optional peer `ioredis`): every replica with the same `name`,
   * `issuer`, `algorithm`, `rotationInterval` and `privateKey` signs with the same keys and serves the same JWKS.
   * Or your own {@link ServiceTokenKeyStore} (e.g. a `RedisServiceTokenKeyStore` around your client). The URL may
   * hold a password, so the variable is never printed. See docs/replicas.md.
   * @default 'memory'
   */
  keyStore?: 'memory' | string | ServiceTokenKeyStore;
  /** Serve the JWKS and the OpenID configuration over HTTP. @default true */
  publishJwks?: boolean;
  /** Path of the JWKS route (SuperTokens uses `/auth/jwt/jwks.json`). @default '/.well-known/jwks.json' */
  jwksPath?: string;
  /**
   * Path of the OpenID configuration route (`issuer`, `jwks_uri`, `id_token_signing_alg_values_supported`).
   * @default '/.well-known/openid-configuration'
   */
  openidConfigurationPath?: string;
  /**
   * Other services whose tokens the guard accepts, e.g.
   * `[{ "issuer": "https://billing.internal", "jwksUri": "https://billing.internal/.well-known/jwks.json" }]`;
   * required when the section does not issue tokens. Each entry: `issuer`, `jwksUri`, optionally `algorithms` (those
   * its keys may use, default all three: a JWK with another `alg` is refused, a JWK without `alg` is bound to the
   * one listed algorithm that fits its `kty`/`crv`) and `allowHttp`. A plain-`http` `jwksUri` to a host other than
   * loopback (`localhost`, `127.0.0.0/8`, `::1`) lets anyone on the path swap the keys: a warning, and a start-up
   * error in production unless the entry says `"allowHttp": true`. A `jwksUri` holding `user:password@` and unknown
   * keys in an entry are refused. @default []
   */
  trustedIssuers?: TrustedIssuerOptions[];
  /** The guard accepts this service's own tokens (verified with its local keys). @default true */
  acceptOwnTokens?: boolean;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. @default 5 */
  clockTolerance?: number;
  /** Tokens longer than this many bytes are refused before any parsing. @default 8192 */
  maxTokenBytes?: number;
  /**
   * Entries in the cache of verified tokens (`lru-cache`; a token is cached from its second sight, a hit needs its
   * SHA-256 to match, each entry lives until its token's `exp` and is never served past it; 0 disables the cache).
   * @default 10000
   */
  verifiedCacheSize?: number;
  /**
   * Deadline of one JWKS request, in seconds: connection, headers and the whole body together, whatever the server
   * does. @default 5
   */
  jwksTimeout?: number;
  /**
   * Minimum time between two requests to one JWKS endpoint for unknown `kid`s, in seconds; after a failure the
   * retry comes sooner: 1 s, 2 s, 4 s… up to this. @default 30
   */
  jwksCooldown?: number;
  /**
   * Longest use of a fetched JWKS before a background refresh, in seconds (a shorter `Cache-Control: max-age` wins,
   * even below `jwksCooldown`, down to 1 s). @default 600
   */
  jwksCacheMaxAge?: number;
  /**
   * How long a key missing from one JWKS response stays usable, in seconds: replicas behind a load balancer that
   * disagree for a moment do not make keys flap; a key withdrawn for good stops being accepted after this. 0 drops
   * it at once. @default 300
   */
  jwksKeyGracePeriod?: number;
  /**
   * Refused calls the guards log in detail per `refusalLogWindow` (one budget for every `ServiceTokenGuard` of the
   * application); the others are counted by error code and summarized in one warning when the window ends, so a
   * flood of bad tokens costs a bounded number of log lines. 0 logs only the summaries. @default 10
   */
  refusalLogLines?: number;
  /** The window of `refusalLogLines`, in seconds (at least 1). @default 60 */
  refusalLogWindow?: number;
}

/** The verifying side of the `service` section after validation (internal). */
export interface ResolvedServiceTokenVerification {
  readonly expectedAudience: readonly string[] | undefined;
  readonly trustedIssuers: readonly TrustedIssuerOptions[];
  readonly acceptOwnTokens: boolean;
  readonly clockTolerance: number;
  readonly maxTokenBytes: number;
  readonly verifiedCacheSize: number;
  readonly jwksTimeout: number;
  readonly jwksCooldown: number;
  readonly jwksCacheMaxAge: number;
  readonly jwksKeyGracePeriod: number;
  readonly refusalLogLines: number;
  readonly refusalLogWindow: number;
}

/** The `service` section of a service that issues tokens, after validation (internal): every field set, keys imported. */
export interface ResolvedServiceTokenOptions extends ResolvedServiceTokenVerification {
  readonly name: string;
  readonly issuer: string;
  readonly audience: readonly string[] | undefined;
  readonly algorithm: ServiceTokenAlgorithm;
  readonly privateKey: KeyObject;
  /** True when the key was generated for development. */
  readonly developmentKey: boolean;
  readonly tokenValidity: number;
  readonly rotationInterval: number | undefined;
  /** The shared key store; `undefined` for `memory`. `close` releases a client the module created. */
  readonly keyStore:
    | { readonly store: ServiceTokenKeyStore; readonly close?: () => void }
    | undefined;
  readonly publishJwks: boolean;
  readonly jwksPath: string;
  readonly openidConfigurationPath: string;
}

/**
 * The `service` section after validation (internal): the verifier's options always; `signing` when the section
 * issues tokens (it has a name, an issuer…), `undefined` when it only verifies other services' tokens.
 */
export interface ResolvedServiceTokenSection extends ResolvedServiceTokenVerification {
  readonly signing: ResolvedServiceTokenOptions | undefined;
}

/** The claims of a verified service token. */
export interface ServiceTokenClaims {
  /** Always `'microservice'`. */
  readonly source: 'microservice';
  /** The issuing service's issuer. */
  readonly iss: string;
  /** The issuing service's name (absent only in `createJwt()` tokens without `sub`). */
  readonly sub?: string;
  readonly aud?: string | readonly string[];
  readonly iat?: number;
  readonly exp: number;
  readonly nbf?: number;
  readonly jti?: string;
  /** Any other claim the issuer added. */
  readonly [claim: string]: unknown;
}
