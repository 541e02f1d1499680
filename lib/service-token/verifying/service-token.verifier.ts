import {
  type IssuerClaimRules,
  JwtVerifier,
  type KeySource,
  type VerifiedClaims,
} from './jwt-verifier.js';
import { RemoteJwksKeySource } from './remote-jwks.js';
import type { JwtIssuerTelemetry } from '../../common/telemetry.js';
import {
  SERVICE_TOKEN_DEFAULTS,
  type ServiceTokenClaims,
  type ServiceTokenOptions,
  TRUSTED_ISSUER_OPTIONS,
  type TrustedIssuerOptions,
} from '../interfaces/service-token-options.interface.js';
import type { ServiceCaller } from './service-token.decorators.js';

const SERVICE_PROFILE = { source: 'microservice' } as const;

/**
 * Options of a standalone {@link ServiceTokenVerifier}. Durations in seconds; an option not given takes the default
 * of the `service` section's option of the same name.
 */
export interface ServiceTokenVerifierOptions extends Pick<
  ServiceTokenOptions,
  | 'clockTolerance'
  | 'maxTokenBytes'
  | 'verifiedCacheSize'
  | 'jwksTimeout'
  | 'jwksCooldown'
  | 'jwksCacheMaxAge'
  | 'jwksKeyGracePeriod'
> {
  /** Issuers whose tokens are accepted, with their JWKS URL. */
  trustedIssuers?: readonly TrustedIssuerOptions[];
  /** Extra key sources (e.g. this service's own keys). */
  localKeys?: readonly KeySource[];
  /** Accept only tokens whose `aud` contains one of these. @default no audience check */
  expectedAudience?: readonly string[];
}

/**
 * Verifies service tokens: signature against the keys of the token's (trusted) issuer, `exp`/`nbf`/`iat` with the
 * clock tolerance, `aud` when configured, and the issuer's profile: `source === "microservice"` for `service`
 * issuers (and this service's own tokens); RFC 9068 access tokens for `oauth2` issuers (`typ` `at+jwt` when sent,
 * `aud` required, `client_id` required). The module provides one built from the `service` section (used by
 * {@link ServiceTokenGuard}); it can also be used on its own.
 *
 * @example
 * const verifier = new ServiceTokenVerifier({
 *   trustedIssuers: [{ issuer: 'https://orders.internal', jwksUri: 'https://orders.internal/.well-known/jwks.json' }],
 * });
 * const claims = await verifier.verify(token); // claims.sub === 'orders'
 */
export class ServiceTokenVerifier {
  private readonly verifier: JwtVerifier;
  /** Issuers of the `oauth2` profile: their callers are named by `client_id`. */
  private readonly oauth2Issuers = new Set<string>();

  /** The trusted issuers' key sources, in the configured order (their state is part of the health report). @internal */
  readonly remoteSources: readonly RemoteJwksKeySource[];

  /** @param telemetry - where verifications and JWKS fetches are counted (internal: the module passes its own). */
  constructor(
    options: ServiceTokenVerifierOptions,
    telemetry?: JwtIssuerTelemetry,
  ) {
    const d = SERVICE_TOKEN_DEFAULTS;
    const issuerRules = new Map<string, IssuerClaimRules>();
    for (const t of options.trustedIssuers ?? []) {
      const audience =
        t.audience === undefined
          ? undefined
          : typeof t.audience === 'string'
            ? [t.audience]
            : t.audience;
      if (t.profile === 'oauth2') {
        this.oauth2Issuers.add(t.issuer);
        issuerRules.set(t.issuer, {
          audience: audience ?? options.expectedAudience ?? [],
          requiredClaims: {},
          requiredStringClaims: ['client_id'],
          typ:
            t.accessTokenTypes ??
            TRUSTED_ISSUER_OPTIONS.accessTokenTypes.default,
        });
      } else if (audience !== undefined) {
        issuerRules.set(t.issuer, { audience });
      }
    }
    const remote = (options.trustedIssuers ?? []).map(
      (t) =>
        new RemoteJwksKeySource(
          {
            issuer: t.issuer,
            jwksUri: t.jwksUri,
            allowHttp: t.allowHttp,
            algorithms: t.algorithms,
            keyGraceMs:
              (options.jwksKeyGracePeriod ?? d.jwksKeyGracePeriod) * 1000,
            timeoutMs: (options.jwksTimeout ?? d.jwksTimeout) * 1000,
            cooldownMs: (options.jwksCooldown ?? d.jwksCooldown) * 1000,
            maxAgeMs: (options.jwksCacheMaxAge ?? d.jwksCacheMaxAge) * 1000,
          },
          telemetry,
        ),
    );
    this.remoteSources = remote;
    this.verifier = new JwtVerifier(
      {
        sources: [...(options.localKeys ?? []), ...remote],
        audience: options.expectedAudience,
        requiredClaims: SERVICE_PROFILE,
        issuerRules,
        clockTolerance: options.clockTolerance ?? d.clockTolerance,
        maxTokenBytes: options.maxTokenBytes ?? d.maxTokenBytes,
        cacheSize: options.verifiedCacheSize ?? d.verifiedCacheSize,
      },
      telemetry,
    );
  }

  /**
   * Verifies a token; an unknown `kid` makes its issuer's JWKS be fetched again (as the cool-down allows).
   *
   * @throws {JwtIssuerError} a `TOKEN_*` code, or `JWKS_UNAVAILABLE`.
   */
  verify(token: string): Promise<ServiceTokenClaims> {
    return this.verifier.verify(token) as Promise<
      VerifiedClaims & ServiceTokenClaims
    >;
  }

  /**
   * Verifies with the keys known now, without waiting for the network (the guard's fast path).
   *
   * @throws {JwtIssuerError} a `TOKEN_*` code (`TOKEN_KEY_UNKNOWN` when the key must be fetched first).
   */
  verifySync(token: string): ServiceTokenClaims {
    return this.verifier.verifySync(token) as VerifiedClaims &
      ServiceTokenClaims;
  }

  /**
   * Who called: the pair (`iss`, subject) of verified claims. The subject is `sub` for `service` issuers and this
   * service's own tokens, `client_id` for `oauth2` issuers (RFC 9068: the client the token was issued to).
   *
   * @example
   * const { issuer, subject } = verifier.callerOf(await verifier.verify(token));
   */
  callerOf(claims: ServiceTokenClaims): ServiceCaller {
    return {
      issuer: claims.iss,
      subject: this.oauth2Issuers.has(claims.iss)
        ? claims.client_id
        : claims.sub,
    };
  }

  /**
   * The key that signed `token`, whose claims this verifier just returned (`undefined` for a token it did not
   * verify): its `active` turns false once the issuer withdraws it (past `jwksKeyGracePeriod` for a trusted issuer,
   * at retirement for this service's own keys). @internal for the WebSocket handshake, whose sockets outlive one
   * verification.
   */
  signingKeyOf(
    token: string,
    claims: ServiceTokenClaims,
  ): { readonly active: boolean } | undefined {
    let kid: unknown;
    try {
      kid = (
        JSON.parse(
          Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString(
            'utf8',
          ),
        ) as { kid?: unknown }
      ).kid;
    } catch {
      return undefined;
    }
    return typeof kid === 'string' && typeof claims.iss === 'string'
      ? this.verifier.keyOf(claims.iss, kid)
      : undefined;
  }

  /** Number of tokens in the verified-token cache (for metrics). */
  get cachedTokens(): number {
    return this.verifier.cachedTokens;
  }

  /**
   * Verifies synchronously when the key is known (the common case), else asynchronously after a JWKS refetch.
   *
   * @throws {JwtIssuerError} a `TOKEN_*` code, or `JWKS_UNAVAILABLE`.
   */
  verifyFast(token: string): ServiceTokenClaims | Promise<ServiceTokenClaims> {
    return this.verifier.verifyFast(token) as
      | (VerifiedClaims & ServiceTokenClaims)
      | Promise<VerifiedClaims & ServiceTokenClaims>;
  }
}
