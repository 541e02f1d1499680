import type { KeyObject } from 'node:crypto';
import type { PrivateKeyInput } from '../../common/keys.js';
import type { VerifyAlgorithm } from '../verifying/jwt-verifier.js';
import { DEFAULT_VERIFY_ALGORITHMS } from '../verifying/verification-jwk.js';
import {
  custom,
  flag,
  type ItemOptionsOf,
  items,
  list,
  number,
  type OptionField,
  oneOf,
  type OptionsOf,
  type OptionValues,
  section,
  text,
} from '../../config/option-fields.js';
import { optionDefaults } from '../../config/read-options.js';
import type { ServiceTokenKeyStore } from '../issuing/key-store/service-token-key-store.interface.js';
import {
  OAUTH2_CLIENT_OPTIONS,
  type ResolvedOAuth2Client,
  type ServiceOAuth2ClientOptions,
} from '../outgoing/oauth2/oauth2-client.interface.js';

/** Asymmetric algorithms service tokens are signed with. */
export type ServiceTokenAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

/**
 * What a trusted issuer's tokens look like. `service`: this package's service tokens (and SuperTokens'), which
 * must carry `source: "microservice"`; the caller is (`iss`, `sub`). `oauth2`: OAuth 2.0 access tokens in the JWT
 * profile of RFC 9068 (an identity provider's client-credentials tokens): `typ`, when sent, must be `at+jwt` or
 * `application/at+jwt`, `aud` is required and checked, `client_id` is required and is the caller's subject, and
 * `scope` is what {@link RequireScopes} checks.
 */
export type TrustedIssuerProfile = 'service' | 'oauth2';

/** Asymmetric algorithms service tokens are signed with. */
export const SERVICE_TOKEN_ALGORITHMS: readonly ServiceTokenAlgorithm[] = [
  'RS256',
  'ES256',
  'EdDSA',
];

/**
 * The options of each `service.trustedIssuers` entry (internal; the public type is {@link TrustedIssuerOptions}).
 * The section's rules check an entry as a whole (`[i] …` problems); its defaults are applied where the entry is used.
 */
export const TRUSTED_ISSUER_OPTIONS = {
  /** The `iss` value the issuer puts in its tokens, e.g. `https://orders.internal` (compared exactly). */
  issuer: custom<string>({ required: true }),
  /**
   * Absolute `http(s)` URL of its JWKS, e.g. `https://orders.internal/.well-known/jwks.json`. Without it the JWKS
   * is found by OpenID Connect discovery: the `jwks_uri` of `<issuer>/.well-known/openid-configuration`, fetched
   * with the same bounds as a JWKS, whose `issuer` must equal `issuer` exactly. @default discovery
   */
  jwksUri: custom<string>(),
  /** The token profile of this issuer. @default 'service' */
  profile: custom<TrustedIssuerProfile>({ default: 'service' }),
  /**
   * `aud` values this issuer's tokens must contain one of (instead of `expectedAudience`). An `oauth2` issuer needs
   * an audience, here or in `expectedAudience`. @default `expectedAudience`
   */
  audience: custom<string | string[]>(),
  /**
   * Algorithms its keys may use: any of RS256, RS384, RS512, PS256, ES256, ES384, ES512, EdDSA (never HMAC, never
   * `none`). A JWK with another `alg` is refused; a JWK without `alg` (RFC 7517 makes it optional) is bound to the
   * one of these that fits its `kty`/`crv`. @default ['RS256', 'ES256', 'EdDSA']
   */
  algorithms: custom<VerifyAlgorithm[], readonly VerifyAlgorithm[]>({
    default: DEFAULT_VERIFY_ALGORITHMS,
  }),
  /**
   * Accept a plain-`http` `jwksUri` (or discovery URL, or discovered `jwks_uri`) to a host other than loopback
   * (`localhost` itself, `127.0.0.0/8`, `::1`; a name under `.localhost` is not loopback): whoever is on the
   * network path could swap the keys. Only where the path is protected otherwise, e.g. by a service mesh's mTLS. Without it such a URL is a warning, and a start-up error in production (a discovered one
   * is refused). @default false
   */
  allowHttp: custom<boolean>({ default: false }),
  /**
   * For the `oauth2` profile, the `typ` header values accepted when a token has one (compared without case). RFC 9068
   * says `at+jwt`, which tells an access token from an ID token; identity providers that send `typ: "JWT"` in their
   * access tokens (Keycloak and Microsoft Entra do) need `["at+jwt", "JWT"]`, and then only the audience tells their
   * ID tokens apart: keep the API's audience distinct from every client id. @default ['at+jwt', 'application/at+jwt']
   */
  accessTokenTypes: custom<string[], readonly string[]>({
    default: ['at+jwt', 'application/at+jwt'],
  }),
};

/** An issuer whose tokens this service accepts, and where its public keys are published. */
export interface TrustedIssuerOptions extends ItemOptionsOf<
  typeof TRUSTED_ISSUER_OPTIONS
> {}

/** Seconds (or a count): a number from `min` (a whole one unless `integer` is false). */
function seconds<const D extends number | undefined = undefined>(
  min: number,
  fallback?: D,
  integer = true,
) {
  return number({
    ...(fallback === undefined ? {} : { default: fallback as number }),
    min,
    max: 3_153_600_000,
    integer,
    message: (v) =>
      `must be ${integer ? 'an integer' : 'a number'} >= ${min} (seconds or count), got ${typeof v === 'number' ? v : typeof v}`,
  }) as OptionField<number, number, D extends number ? 'default' : 'optional'>;
}

/** A value or a list of values, each a non-empty string. */
const values = () =>
  list({
    string: 'one',
    message: 'must be a non-empty string or a non-empty list of them',
  });

/** An absolute URL path. */
const urlPath = (fallback: string) =>
  text({
    default: fallback,
    match: /^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/,
    message: 'must be an absolute URL path starting with "/"',
  });

/**
 * The options of the `service` section, each declared once (type, default, bounds, secrecy, description); the
 * public type is {@link ServiceTokenOptions}, the variables are `JWT_ISSUER_SERVICE_<OPTION>` (internal).
 */
export const SERVICE_TOKEN_OPTIONS = {
  /**
   * This service's name: the `sub` of its tokens. Required to issue tokens; a section without `name`, `issuer`,
   * `privateKey` or any other signing option only verifies (it then needs `trustedIssuers`).
   */
  name: text(),
  /**
   * The `iss` of this service's tokens: its base URL, an absolute `http(s)` URL without query, fragment or
   * credentials (else a start-up error); its `jwks_uri` is `issuer` + `jwksPath`. Required to issue tokens.
   */
  issuer: text(),
  /** `aud` put in this service's own token (one value or several). @default no `aud` */
  audience: values(),
  /** When set, the guard accepts only tokens whose `aud` contains one of these values. @default no `aud` check */
  expectedAudience: values(),
  /** Signing algorithm of the static and dynamic keys: `RS256`, `ES256` or `EdDSA`. @default 'RS256' */
  algorithm: oneOf(SERVICE_TOKEN_ALGORITHMS, { default: 'RS256' }),
  /**
   * The static signing key: PEM (PKCS#8, PKCS#1, SEC1), a private JWK (object or JSON text), a file holding either,
   * or a `KeyObject`; its `kid` is `s-<RFC 7638 thumbprint>`, the same in every replica and after restarts. Required
   * to issue tokens when `NODE_ENV` is `production`; otherwise a development key is generated, with a loud warning.
   * @default a development key, outside production
   */
  privateKey: custom<PrivateKeyInput>({ env: 'string', secret: true }),
  /**
   * Lifetime of this service's own token (`getToken()`, renewed at 75 % of it) and the default of `createJwt()`, in
   * seconds. @default 3600
   */
  tokenValidity: seconds(1, 3600),
  /**
   * Enables dynamic keys (`kid` `d-<created ms>`) rotated every this many seconds; `getToken()` then signs with
   * the current dynamic key. A new key is published one interval before it signs, so verifiers must be able to
   * refetch the JWKS within one interval: an interval shorter than `jwksCooldown` (the cool-down the verifiers
   * of this service are assumed to use, as this service does; plus 2 s with a shared `keyStore`) is refused at
   * start-up. @default off (the static key signs everything)
   */
  rotationInterval: seconds(1),
  /**
   * Where the replicas of this service share their keys. `'memory'`: each process keeps its own (one replica).
   * A `redis://` or `rediss://` URL (needs the optional peer `ioredis`): every replica with the same `name`,
   * `issuer`, `algorithm`, `rotationInterval` and `privateKey` signs with the same keys and serves the same JWKS.
   * Or your own {@link ServiceTokenKeyStore} (e.g. a `RedisServiceTokenKeyStore` around your client). The URL may
   * hold a password, so the variable is never printed. See docs/replicas.md.
   * @default 'memory'
   */
  keyStore: custom<'memory' | string | ServiceTokenKeyStore>({
    env: 'string',
    secret: true,
  }),
  /** Serve the JWKS and the OpenID configuration over HTTP. @default true */
  publishJwks: flag({ default: true }),
  /** Path of the JWKS route (SuperTokens uses `/auth/jwt/jwks.json`). @default '/.well-known/jwks.json' */
  jwksPath: urlPath('/.well-known/jwks.json'),
  /**
   * Path of the OpenID configuration route (`issuer`, `jwks_uri`, `id_token_signing_alg_values_supported`).
   * @default '/.well-known/openid-configuration'
   */
  openidConfigurationPath: urlPath('/.well-known/openid-configuration'),
  /**
   * Other services whose tokens the guard accepts, e.g.
   * `[{ "issuer": "https://billing.internal", "jwksUri": "https://billing.internal/.well-known/jwks.json" }]`;
   * required when the section does not issue tokens. Each entry: `issuer`, `jwksUri`, optionally `algorithms` (those
   * its keys may use, default all three: a JWK with another `alg` is refused, a JWK without `alg` is bound to the
   * one listed algorithm that fits its `kty`/`crv`) and `allowHttp`. A plain-`http` `jwksUri` to a host other than
   * loopback (`localhost` itself, `127.0.0.0/8`, `::1`: the address decides, so `evil.localhost` is another host)
   * lets anyone on the path swap the keys: a warning, and a start-up error in production unless the entry says
   * `"allowHttp": true`. A `jwksUri` holding `user:password@` and unknown
   * keys in an entry are refused. @default []
   */
  trustedIssuers: items<TrustedIssuerOptions>(TRUSTED_ISSUER_OPTIONS, {
    env: 'json',
    default: [],
  }),
  /** The guard accepts this service's own tokens (verified with its local keys). @default true */
  acceptOwnTokens: flag({ default: true }),
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. @default 5 */
  clockTolerance: seconds(0, 5, false),
  /** Tokens longer than this many bytes are refused before any parsing. @default 8192 */
  maxTokenBytes: seconds(64, 8192),
  /**
   * Entries in the cache of verified tokens (`lru-cache`; a token is cached from its second sight, a hit needs its
   * SHA-256 to match, each entry lives until its token's `exp` and is never served past it; 0 disables the cache).
   * @default 10000
   */
  verifiedCacheSize: seconds(0, 10_000),
  /**
   * Deadline of one JWKS request, in seconds: connection, headers and the whole body together, whatever the server
   * does. @default 5
   */
  jwksTimeout: seconds(0.001, 5, false),
  /**
   * Minimum time between two requests to one JWKS endpoint for unknown `kid`s, in seconds; after a failure the
   * retry comes sooner: 1 s, 2 s, 4 s… up to this. @default 30
   */
  jwksCooldown: seconds(0, 30, false),
  /**
   * Longest use of a fetched JWKS before a background refresh, in seconds (a shorter `Cache-Control: max-age` wins,
   * even below `jwksCooldown`, down to 1 s). @default 600
   */
  jwksCacheMaxAge: seconds(0, 600, false),
  /**
   * How long a key missing from one JWKS response stays usable, in seconds: replicas behind a load balancer that
   * disagree for a moment do not make keys flap; a key withdrawn for good stops being accepted after this, counted
   * from the fetch that found it missing (tokens it signed are refused from then on, those in the verified-token
   * cache included). An issuer whose JWKS lists no usable key is `degraded` in the health report during this period
   * and `down` after it. 0 drops it at once. @default 300
   */
  jwksKeyGracePeriod: seconds(0, 300, false),
  /**
   * Refused calls the guards log in detail per `refusalLogWindow` (one budget for every `ServiceTokenGuard` of the
   * application); the others are counted by error code and summarized in one warning when the window ends, so a
   * flood of bad tokens costs a bounded number of log lines. 0 logs only the summaries. @default 10
   */
  refusalLogLines: seconds(0, 10),
  /** The window of `refusalLogLines`, in seconds (at least 1). @default 60 */
  refusalLogWindow: seconds(1, 60, false),
  /**
   * Get this service's outgoing token from an OAuth 2.0 token endpoint (client credentials) instead of signing it:
   * `getToken()`, `authorizationHeader()`, the fetch and axios helpers and `withServiceToken` then send the
   * identity provider's access token (per destination when `destinations` say so). With `client_secret_basic` the
   * section needs nothing else (a service that only calls others, or also verifies with `trustedIssuers`);
   * `private_key_jwt` signs its assertion with this service's key, so it needs `name`, `issuer` and `privateKey`
   * (and the identity provider must know this service's JWKS URL).
   * @default off (the service signs its own tokens)
   */
  oauth2: section<ServiceOAuth2ClientOptions>(OAUTH2_CLIENT_OPTIONS),
};

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
export interface ServiceTokenOptions extends OptionsOf<
  typeof SERVICE_TOKEN_OPTIONS
> {}

/**
 * The defaults of the `service` section's options, for what takes some of them on its own (a standalone
 * `ServiceTokenVerifier`, `ServiceTokenHandshake` or refusal log) (internal).
 */
export const SERVICE_TOKEN_DEFAULTS = optionDefaults(SERVICE_TOKEN_OPTIONS);

/** The values of the `service` section's options after validation (internal). */
type ServiceTokenValues = OptionValues<typeof SERVICE_TOKEN_OPTIONS>;

/** The verifying side of the `service` section after validation (internal). */
export interface ResolvedServiceTokenVerification extends Pick<
  ServiceTokenValues,
  | 'expectedAudience'
  | 'acceptOwnTokens'
  | 'clockTolerance'
  | 'maxTokenBytes'
  | 'verifiedCacheSize'
  | 'jwksTimeout'
  | 'jwksCooldown'
  | 'jwksCacheMaxAge'
  | 'jwksKeyGracePeriod'
  | 'refusalLogLines'
  | 'refusalLogWindow'
> {
  readonly trustedIssuers: readonly TrustedIssuerOptions[];
}

/** The `service` section of a service that issues tokens, after validation (internal): every field set, keys imported. */
export interface ResolvedServiceTokenOptions
  extends
    ResolvedServiceTokenVerification,
    Pick<
      ServiceTokenValues,
      | 'audience'
      | 'algorithm'
      | 'tokenValidity'
      | 'rotationInterval'
      | 'publishJwks'
      | 'jwksPath'
      | 'openidConfigurationPath'
    > {
  readonly name: string;
  readonly issuer: string;
  readonly privateKey: KeyObject;
  /** True when the key was generated for development. */
  readonly developmentKey: boolean;
  /** The shared key store; `undefined` for `memory`. `close` releases a client the module created. */
  readonly keyStore:
    | { readonly store: ServiceTokenKeyStore; readonly close?: () => void }
    | undefined;
  /** The OAuth 2.0 client that obtains the outgoing token; `undefined`: the service signs it. */
  readonly oauth2: ResolvedOAuth2Client | undefined;
}

/**
 * The `service` section after validation (internal): the verifier's options always; `signing` when the section
 * issues tokens (it has a name, an issuer…), `undefined` when it only verifies other services' tokens.
 */
export interface ResolvedServiceTokenSection extends ResolvedServiceTokenVerification {
  readonly signing: ResolvedServiceTokenOptions | undefined;
  /** The OAuth 2.0 client of the outgoing token, signing or not (`client_secret_basic` only without signing). */
  readonly oauth2: ResolvedOAuth2Client | undefined;
}

/** The claims of a verified service token (or, from an `oauth2` issuer, access token). */
export interface ServiceTokenClaims {
  /** `'microservice'` in tokens of `service` issuers (and this service's own); absent from `oauth2` access tokens. */
  readonly source?: 'microservice';
  /** The OAuth 2.0 client of an `oauth2` access token: the caller's subject. */
  readonly client_id?: string;
  /** Space-separated scopes (what {@link RequireScopes} checks). */
  readonly scope?: string;
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
