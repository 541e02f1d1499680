import { randomUUID } from 'node:crypto';
import {
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { JwsSigner } from '../../common/jws-signer.js';
import { errorText } from '../http/printable.js';
import { MAX_TIMER_MS } from '../../common/time.js';
import {
  ATTR,
  counterIn,
  type CounterSeries,
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
} from '../../common/telemetry.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import type { ResolvedServiceTokenOptions } from '../interfaces/service-token-options.interface.js';
import { SharedServiceTokenKeyRing } from './key-store/shared-key-ring.js';
import { OAuth2TokenClient } from '../outgoing/oauth2/oauth2-token-client.js';
import {
  type PublishedJwk,
  type ServiceKeyRing,
  ServiceTokenKeyRing,
} from './service-token-key-ring.js';

/** Options of {@link ServiceTokenService.createJwt}. */
export interface CreateJwtOptions {
  /** Lifetime in seconds. @default the configured `tokenValidity` (3600) */
  validitySeconds?: number;
  /** Sign with the static key (`true`) or the current dynamic key (`false`, needs `rotationInterval`). @default true */
  useStaticSigningKey?: boolean;
}

/** The discovery document served at the OpenID configuration path. */
export interface ServiceOpenIdConfiguration {
  issuer: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported: string[];
}

/**
 * The claims of a service's own token, in the order they are written: `source: "microservice"`, `iss`, `sub`,
 * `aud` (one value, or the list), `iat`, `exp`, a fresh `jti`. One layout for {@link ServiceTokenService.getToken}
 * and the test issuer of `nest-jwt-issuer/testing` (internal).
 */
export function ownTokenClaims(
  options: Pick<ResolvedServiceTokenOptions, 'issuer' | 'name' | 'audience'>,
  iat: number,
  validity: number,
): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    source: 'microservice',
    iss: options.issuer,
    sub: options.name,
  };
  if (options.audience) {
    claims.aud =
      options.audience.length === 1
        ? options.audience[0]
        : [...options.audience];
  }
  claims.iat = iat;
  claims.exp = iat + validity;
  claims.jti = randomUUID();
  return claims;
}

// Renew the own token when this share of its lifetime has passed.
const RENEW_AT = 0.75;

/**
 * Issues this service's tokens (`source: "microservice"`) and publishes its keys. The own token is created at
 * start-up, cached, and renewed before it expires; concurrent callers during a renewal share one signing.
 *
 * @example
 * constructor(private readonly tokens: ServiceTokenService) {}
 * async callBilling() {
 *   return fetch('https://billing.internal/internal/invoices', {
 *     headers: { authorization: await this.tokens.authorizationHeader() },
 *   });
 * }
 */
export class ServiceTokenService implements OnModuleInit, OnModuleDestroy {
  /** This service's keys (also the key source of its own tokens). @internal */
  readonly keyRing: ServiceKeyRing;
  private readonly logger = new Logger('ServiceTokenService');
  /** Set when the outgoing token comes from an OAuth 2.0 token endpoint (`service.oauth2`). */
  private readonly oauth2: OAuth2TokenClient | undefined;
  private token:
    | {
        value: string;
        kid: string | undefined;
        renewAtMs: number;
        expMs: number;
      }
    | undefined;
  private inflight: Promise<string> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private rotationTimer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private destroyed = false;
  private readonly issued: CounterSeries;
  private readonly rotated: CounterSeries;
  private readonly rotationFailed: CounterSeries;
  /** Why the last rotation failed, while it keeps failing (for the health report). @internal */
  lastRotationError: string | undefined;

  /**
   * @internal Created by `JwtIssuerModule` from the validated `service` section.
   * @param telemetry - where issued tokens and rotations are counted.
   */
  constructor(
    private readonly options: ResolvedServiceTokenOptions,
    telemetry?: JwtIssuerTelemetry,
  ) {
    this.keyRing = options.keyStore
      ? new SharedServiceTokenKeyRing(
          options,
          options.keyStore.store,
          telemetry,
        )
      : new ServiceTokenKeyRing(options);
    this.oauth2 = options.oauth2
      ? new OAuth2TokenClient(options.oauth2, (claims) =>
          this.sign(claims, true),
        )
      : undefined;
    const rotations = JWT_ISSUER_INSTRUMENTS.keyRotations;
    this.issued = counterIn(telemetry, JWT_ISSUER_INSTRUMENTS.tokensIssued, {
      [ATTR.kind]: 'service',
    });
    this.rotated = counterIn(telemetry, rotations, {
      [ATTR.outcome]: 'success',
    });
    this.rotationFailed = counterIn(telemetry, rotations, {
      [ATTR.outcome]: 'failure',
    });
  }

  /** Creates the dynamic keys (if any) and the own token; starts the renewal and rotation timers. */
  async onModuleInit(): Promise<void> {
    await this.start();
    if (this.oauth2) {
      // Fetched ahead, not awaited: the application starts even while its identity provider is down.
      this.oauth2.token().catch(() => undefined); // logged by the client
      return;
    }
    await this.getToken();
  }

  /** Stops the timers (and the key store client the module created). */
  onModuleDestroy(): void {
    this.destroyed = true;
    this.keyRing.stop();
    this.options.keyStore?.close?.();
    clearTimeout(this.renewTimer);
    clearInterval(this.rotationTimer);
    this.renewTimer = undefined;
    this.rotationTimer = undefined;
  }

  /**
   * This service's own token: `source: "microservice"`, `iss`, `sub` (the service name), `aud` when configured,
   * `iat`, `exp`, a unique `jti`, and `kid` in the header. Cached, renewed before expiry and when the signing key
   * changes; never waits on the network (with a shared `keyStore`, the keys are kept current in the background).
   *
   * With `service.oauth2`, the access token the identity provider issued to this service instead: for
   * `destination` (an absolute URL) the token of the matching `service.oauth2.destinations` entry, else the
   * default one. It is served from memory until 75 % of its lifetime, then renewed in the background; the call
   * waits only when there is no usable token.
   *
   * @example
   * const jwt = await serviceTokens.getToken();
   * const forBilling = await serviceTokens.getToken('https://billing.internal/invoices');
   * @throws {JwtIssuerError} `OAUTH2_TOKEN_UNAVAILABLE` (with `service.oauth2`) when no usable token could be obtained.
   */
  getToken(destination?: string | URL): Promise<string> {
    if (this.oauth2) return this.oauth2.token(destination);
    const t = this.token;
    if (
      t !== undefined &&
      Date.now() < t.renewAtMs &&
      t.kid === this.keyRing.signer(!this.keyRing.rotating).kid
    ) {
      return Promise.resolve(t.value);
    }
    return (this.inflight ??= this.issueOwnToken().finally(() => {
      this.inflight = undefined;
    }));
  }

  /**
   * `"Bearer <token>"`, for the `Authorization` header of outgoing calls (`destination` picks the token with
   * `service.oauth2.destinations`; see {@link getToken}).
   *
   * @example
   * await fetch(url, { headers: { authorization: await serviceTokens.authorizationHeader(url) } });
   * @throws {JwtIssuerError} `OAUTH2_TOKEN_UNAVAILABLE` (with `service.oauth2`) when no usable token could be obtained.
   */
  async authorizationHeader(destination?: string | URL): Promise<string> {
    if (this.oauth2) return this.oauth2.header(destination);
    return `Bearer ${await this.getToken()}`;
  }

  /**
   * Signs a payload, as SuperTokens' `createJWT`: sets `iat` and `exp`, and `iss` unless the payload has one.
   * The payload is copied, never changed. Add `source: "microservice"` yourself when the token is a service token.
   *
   * @example
   * const jwt = await serviceTokens.createJwt({ source: 'microservice', scope: 'invoices:read' }, { validitySeconds: 300 });
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` when the payload is not a plain object, `validitySeconds` is not a
   * positive integer, or a dynamic key is asked for while rotation is off (or, with a shared `keyStore`, for longer
   * than `tokenValidity`: shared dynamic keys are retained for that long only).
   */
  async createJwt(
    payload: Record<string, unknown>,
    options: CreateJwtOptions = {},
  ): Promise<string> {
    if (
      typeof payload !== 'object' ||
      payload === null ||
      Array.isArray(payload)
    ) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        'createJwt: payload must be a plain object',
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        'createJwt: options must be an object',
      );
    }
    const validity = options.validitySeconds ?? this.options.tokenValidity;
    if (
      !Number.isInteger(validity) ||
      validity <= 0 ||
      validity > 3_153_600_000
    ) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        'createJwt: validitySeconds must be a positive integer (seconds, at most 100 years)',
      );
    }
    const useStatic = options.useStaticSigningKey ?? true;
    if (typeof useStatic !== 'boolean') {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        'createJwt: useStaticSigningKey must be a boolean',
      );
    }
    if (!useStatic && !this.keyRing.rotating) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        'createJwt: useStaticSigningKey: false needs dynamic keys (service.rotationInterval)',
      );
    }
    if (
      !useStatic &&
      this.keyRing.selfRotating &&
      validity > this.options.tokenValidity
    ) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        'createJwt: with a shared keyStore, a dynamic key signs for at most tokenValidity seconds (use the static key for longer tokens)',
      );
    }
    await this.start();
    const iat = Math.floor(Date.now() / 1000);
    return this.sign(
      {
        ...payload,
        iss: payload.iss ?? this.options.issuer,
        iat,
        exp: iat + validity,
      },
      useStatic,
    );
  }

  /**
   * The public JWKS of every key verifiers may still meet (static, current and next dynamic, retired but retained).
   *
   * @example
   * const { keys } = serviceTokens.getJwks();
   */
  getJwks(): { keys: PublishedJwk[] } {
    return this.keyRing.jwks();
  }

  /**
   * Seconds a JWKS response may be cached: until the next key change when keys rotate, otherwise one hour.
   */
  jwksMaxAge(): number {
    return this.keyRing.secondsUntilChange() ?? 3600;
  }

  /**
   * The OpenID configuration document (`issuer`, `jwks_uri`) this service publishes.
   *
   * @example
   * serviceTokens.getOpenIdConfiguration().jwks_uri; // 'https://orders.internal/.well-known/jwks.json'
   */
  getOpenIdConfiguration(): ServiceOpenIdConfiguration {
    return {
      issuer: this.options.issuer,
      jwks_uri: `${this.options.issuer.replace(/\/+$/, '')}${this.options.jwksPath}`,
      id_token_signing_alg_values_supported: [this.options.algorithm],
    };
  }

  /**
   * Rotates the dynamic keys now (as the timer does every `rotationInterval`) and renews the own token with the new
   * key. Does nothing when rotation is off. With a shared `keyStore` the fleet rotates on a common schedule: this
   * only reads the store now.
   */
  async rotateKeys(): Promise<void> {
    if (!this.keyRing.rotating) return;
    await this.start();
    if (this.keyRing.selfRotating) {
      await this.keyRing.rotate();
    } else {
      try {
        await this.keyRing.rotate();
      } catch (e) {
        this.rotationFailed.value++;
        this.lastRotationError = errorText(e);
        throw e;
      }
      this.rotated.value++;
      this.lastRotationError = undefined;
    }
    this.token = undefined;
    await this.getToken();
  }

  private start(): Promise<void> {
    return (this.started ??= this.keyRing.start().then(() => {
      if (this.options.developmentKey) {
        this.logger.warn(
          `Service '${this.options.name}' signs with a DEVELOPMENT key (not for production)`,
        );
      }
      const interval = this.options.rotationInterval;
      if (
        interval !== undefined &&
        !this.destroyed &&
        !this.keyRing.selfRotating
      ) {
        this.rotationTimer = setInterval(
          () => {
            this.rotateKeys().catch((e: unknown) =>
              this.logger.error(`Key rotation failed: ${errorText(e)}`),
            );
          },
          Math.min(interval * 1000, MAX_TIMER_MS),
        );
        this.rotationTimer.unref();
      }
    }));
  }

  private async issueOwnToken(): Promise<string> {
    await this.start();
    const iat = Math.floor(Date.now() / 1000);
    const validity = this.options.tokenValidity;
    const claims = ownTokenClaims(this.options, iat, validity);
    const signer = this.keyRing.signer(!this.keyRing.rotating);
    const value = this.sign(claims, signer);
    const issuedMs = iat * 1000;
    const renewAtMs = issuedMs + Math.floor(validity * 1000 * RENEW_AT);
    this.token = {
      value,
      kid: signer.kid,
      renewAtMs,
      expMs: (iat + validity) * 1000,
    };
    this.scheduleRenewal(renewAtMs);
    return value;
  }

  private scheduleRenewal(atMs: number): void {
    clearTimeout(this.renewTimer);
    if (this.destroyed) return;
    this.renewTimer = setTimeout(
      () => {
        this.renewTimer = undefined;
        this.getToken().catch((e: unknown) =>
          this.logger.error(`Service token renewal failed: ${errorText(e)}`),
        );
      },
      Math.min(Math.max(atMs - Date.now(), 0), MAX_TIMER_MS),
    );
    this.renewTimer.unref();
  }

  private sign(
    claims: Record<string, unknown>,
    signer: JwsSigner | boolean,
  ): string {
    if (typeof signer === 'boolean') signer = this.keyRing.signer(signer);
    const token = signer.sign(claims);
    this.issued.value++;
    this.keyRing.noteSigned(signer.kid, (claims.exp as number) * 1000);
    return token;
  }
}
