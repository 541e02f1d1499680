import { randomUUID } from 'node:crypto';
import {
  ATTR,
  counterIn,
  type CounterSeries,
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
} from '../common/telemetry.js';
import { JwsSigner } from '../common/jws-signer.js';
import { nowSeconds, toEpochSeconds } from '../common/time.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import type {
  ResolvedVonageJwtOptions,
  VonageTokenClaims,
  VonageTokenOptions,
} from './interfaces/vonage-options.interface.js';
import { assertVonageAcl } from './vonage-acl.js';
import { VONAGE_MAX_TTL } from './vonage.options.js';

const PREFIX = 'VonageJwtService.createToken';
const KNOWN_OPTIONS = new Set(['sub', 'acl', 'ttl', 'nbf', 'jti']);
/** Names other tools use, mapped to ours, so that a migrated call fails with a useful hint. */
const HINTS: Readonly<Record<string, string>> = {
  subject: 'sub',
  notBefore: 'nbf',
  exp: 'ttl',
  expiresIn: 'ttl',
  application_id: 'the vonage.applicationId option',
  iat: 'nothing (iat is always now)',
  issued_at: 'nothing (iat is always now)',
};
const EMPTY: VonageTokenOptions = Object.freeze({});

function invalid(message: string): JwtIssuerError {
  return new JwtIssuerError(
    JwtIssuerErrorCode.INVALID_ARGUMENT,
    `${PREFIX}: ${message}`,
  );
}

/**
 * Mints the JWTs the Vonage (Nexmo) Client SDK logs users in with: RS256 with the application's private key
 * (imported once), `application_id`, `iat`, `exp = iat + ttl` (default 900 s, never more than 24 h), a UUID v4
 * `jti`, and `nbf`, `sub`, `acl` when asked for. The caller's options are only read.
 *
 * Inject it after configuring the `vonage` section of {@link JwtIssuerModule}.
 *
 * @example
 * constructor(private readonly vonage: VonageJwtService) {}
 * login(user: string) {
 *   return { token: this.vonage.createToken({ sub: user, acl: vonageAcl('all'), ttl: 3600 }) };
 * }
 */
export class VonageJwtService {
  private readonly signer: JwsSigner;
  private readonly applicationId: string;
  private readonly defaultTtl: number;

  private readonly issued: CounterSeries;

  /**
   * @internal Created by `JwtIssuerModule` from the validated section.
   * @param telemetry - where issued tokens are counted.
   */
  constructor(
    options: ResolvedVonageJwtOptions,
    telemetry?: JwtIssuerTelemetry,
  ) {
    this.issued = counterIn(telemetry, JWT_ISSUER_INSTRUMENTS.tokensIssued, {
      [ATTR.kind]: 'vonage',
    });
    this.signer = new JwsSigner({ algorithm: 'RS256', key: options.key });
    this.applicationId = options.applicationId;
    this.defaultTtl = options.defaultTtl;
  }

  /**
   * Signs a Client SDK token.
   *
   * @example
   * vonage.createToken({ sub: 'jamie', acl: vonageAcl(['sessions', 'conversations']), ttl: 600 });
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` naming the option: an unknown option, a `ttl` that is not a whole
   * number of seconds in 1 … 86400, an `nbf` that is not a time or not before `exp`, an empty `sub` or `jti`, a
   * malformed `acl`.
   */
  createToken(options: VonageTokenOptions = EMPTY): string {
    if (options !== EMPTY) {
      if (typeof options !== 'object' || options === null) {
        throw invalid('options must be an object');
      }
      for (const key in options) {
        if (!KNOWN_OPTIONS.has(key)) {
          const hint = HINTS[key];
          throw invalid(
            `${key} is not a known option${hint ? ` (use ${hint})` : ''} (known: ${[...KNOWN_OPTIONS].join(', ')})`,
          );
        }
      }
    }
    const { sub, acl, ttl, nbf, jti } = options;
    const lifetime = ttl === undefined ? this.defaultTtl : ttl;
    if (
      typeof lifetime !== 'number' ||
      !Number.isInteger(lifetime) ||
      lifetime <= 0 ||
      lifetime > VONAGE_MAX_TTL
    ) {
      throw invalid(
        `ttl must be a whole number of seconds from 1 to ${VONAGE_MAX_TTL} (24 h: the platform honours no more)`,
      );
    }
    if (jti !== undefined && (typeof jti !== 'string' || jti === '')) {
      throw invalid('jti must be a non-empty string');
    }
    const iat = nowSeconds();
    const claims: VonageTokenClaims = {
      application_id: this.applicationId,
      iat,
      jti: jti ?? randomUUID(),
      exp: iat + lifetime,
    };
    if (nbf !== undefined) {
      const seconds = toEpochSeconds(nbf);
      if (seconds === undefined) {
        throw invalid('nbf must be a Date or whole seconds since the epoch');
      }
      if (seconds >= claims.exp) {
        throw invalid(
          'nbf must come before exp (iat + ttl): the token would never be valid',
        );
      }
      claims.nbf = seconds;
    }
    if (sub !== undefined) {
      if (typeof sub !== 'string' || sub === '') {
        throw invalid('sub must be a non-empty string (the user name)');
      }
      claims.sub = sub;
    }
    if (acl !== undefined) {
      assertVonageAcl(acl, PREFIX);
      // Serialized as it is (JSON.stringify only reads it).
      claims.acl = acl as VonageTokenClaims['acl'];
    }
    return this.sign(claims);
  }

  private sign(claims: object): string {
    const token = this.signer.sign(claims);
    this.issued.value++;
    return token;
  }
}
