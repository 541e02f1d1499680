import { Injectable } from '@nestjs/common';
import {
  ATTR,
  counterIn,
  type CounterSeries,
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
} from '../common/telemetry.js';
import type { NatsScopeTemplate } from './interfaces/nats-account.interface.js';
import type { ResolvedNatsUserJwtOptions } from './interfaces/nats-options.interface.js';
import type {
  NatsCreateUserOptions,
  NatsIssueUserJwtOptions,
  NatsUserCredentials,
} from './interfaces/nats-user-jwt.interface.js';
import {
  credsText,
  type NatsSigningKeyScope,
  signUserJwt,
} from './issue-user-jwt.js';
import { checkPublicNkey, generateNkey } from './nkey.js';
import { NkeyJwtSigner } from './nkey-jwt.js';

/**
 * Issues NATS user JWTs with the account and signing key configured in the module's `nats` section. The signing
 * key is decoded once at bootstrap and signs with `node:crypto` Ed25519. When the account JWT is configured, the
 * service knows whether the key is scoped: then per-call `permissions`/`limits` are refused (the server would refuse
 * the user); for a non-scoped key every user carries the Go v2 user model (unset numeric limits `-1`).
 *
 * @example
 * @Controller('nats')
 * export class NatsController {
 *   constructor(private readonly nats: NatsUserJwtService) {}
 *   @Post('users')
 *   create(@Body() body: { name?: string }) {
 *     return this.nats.createUser({ name: body.name, tags: ['team:blue'] });
 *   }
 * }
 */
@Injectable()
export class NatsUserJwtService {
  /** Public key of the account (`A…`). */
  readonly accountId: string;
  /** Public key of the signing key (`iss` of every user JWT). */
  readonly signingPublicKey: string;
  /** Whether the signing key is scoped, per the configured account JWT (`unknown` without one). */
  readonly signingKeyScope: NatsSigningKeyScope;
  /** The scope's template (permissions and limits every user gets), when the key is scoped. */
  readonly scopeTemplate: NatsScopeTemplate | undefined;
  /** The scope's role, when the key is scoped. */
  readonly scopeRole: string | undefined;
  private readonly signer: NkeyJwtSigner;
  private readonly accountJson: string;
  private readonly defaultExpiresIn: number | undefined;
  private readonly issued: CounterSeries;
  /** Expiry of the configured account JWT (unix seconds), if it has one. @internal */
  readonly accountJwtExpiresAt: number | undefined;
  /** Whether an account JWT is configured. @internal */
  readonly accountJwtConfigured: boolean;

  /**
   * @internal Created by `JwtIssuerModule` from the validated `nats` section.
   * @param telemetry - where issued user JWTs are counted.
   */
  constructor(
    options: ResolvedNatsUserJwtOptions,
    telemetry?: JwtIssuerTelemetry,
  ) {
    this.issued = counterIn(telemetry, JWT_ISSUER_INSTRUMENTS.tokensIssued, {
      [ATTR.kind]: 'nats_user',
    });
    this.accountJwtConfigured = options.account !== undefined;
    this.accountJwtExpiresAt = options.account?.expiresAt;
    this.accountId = options.accountId;
    this.accountJson = JSON.stringify(options.accountId);
    this.signer = new NkeyJwtSigner(options.signingKey);
    this.signingPublicKey = this.signer.publicKey;
    this.signingKeyScope = options.account?.scope ?? 'unknown';
    this.scopeTemplate = options.account?.template;
    this.scopeRole = options.account?.role;
    this.defaultExpiresIn = options.expiresIn;
  }

  /**
   * Issues a user JWT for an existing user key (ADR-14), with the configured account and signing key. `expiresIn`
   * defaults to the module's `nats.expiresIn`.
   *
   * @example
   * const jwt = nats.issueUserJwt({ publicUserKey: 'UA…', name: 'alice', tags: ['team:blue'] });
   * @throws {JwtIssuerError} `INVALID_ARGUMENT`, `NKEY_INVALID`, `NKEY_WRONG_TYPE` (publicUserKey is not a user
   *   key), `SCOPED_KEY_PERMISSIONS` (permissions/limits with a scoped key).
   */
  issueUserJwt(options: NatsIssueUserJwtOptions): string {
    const publicUserKey = checkPublicNkey(
      options?.publicUserKey,
      'publicUserKey',
      ['user'],
    );
    const jwt = signUserJwt(
      this.signer,
      this.accountJson,
      publicUserKey,
      options,
      this.signingKeyScope,
      this.defaultExpiresIn,
    );
    this.issued.value++;
    return jwt;
  }

  /**
   * Creates a fresh user nkey and its JWT, and returns both with a ready `.creds` text (Go `FormatUserConfig`
   * layout). The seed and the creds are secrets: hand them only to that user, over TLS.
   *
   * @example
   * const { publicKey, jwt, creds } = nats.createUser({ name: 'alice', expiresIn: 3600 });
   * @throws {JwtIssuerError} `INVALID_ARGUMENT`, `SCOPED_KEY_PERMISSIONS`.
   */
  createUser(options: NatsCreateUserOptions = {}): NatsUserCredentials {
    const user = generateNkey('user');
    const jwt = signUserJwt(
      this.signer,
      this.accountJson,
      user.publicKey,
      options,
      this.signingKeyScope,
      this.defaultExpiresIn,
    );
    this.issued.value++;
    return {
      publicKey: user.publicKey,
      seed: user.seed,
      jwt,
      creds: credsText(jwt, user.seed),
    };
  }
}
