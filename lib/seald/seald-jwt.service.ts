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
import {
  type ResolvedSealdJwtOptions,
  type SealdAnonymousTokenOptions,
  type SealdConnector,
  SealdPermission,
  type SealdSignupTokenOptions,
  type SealdTokenClaims,
  type SealdTokenOptions,
} from './interfaces/seald-options.interface.js';
import { SEALD_PERMISSION_VALUES } from './seald.options.js';

const TOKEN_OPTIONS = new Set([
  'scopes',
  'recipients',
  'owner',
  'joinTeam',
  'connectorAdd',
  'oneTime',
  'issuedAt',
]);
const SIGNUP_OPTIONS = new Set(['userId', 'oneTime', 'issuedAt']);
const ANONYMOUS_OPTIONS = new Set([
  'recipients',
  'owner',
  'scopes',
  'oneTime',
  'issuedAt',
]);
const EMPTY: SealdTokenOptions = Object.freeze({});

const PERMISSION_NAMES = new Map<number, string>(
  Object.entries(SealdPermission).map(([name, value]) => [value, name]),
);

function invalid(method: string, message: string): JwtIssuerError {
  return new JwtIssuerError(
    JwtIssuerErrorCode.INVALID_ARGUMENT,
    `SealdJwtService.${method}: ${message}`,
  );
}

function checkKeys(
  method: string,
  options: unknown,
  known: ReadonlySet<string>,
): void {
  if (typeof options !== 'object' || options === null) {
    throw invalid(method, 'options must be an object');
  }
  for (const key in options) {
    if (!known.has(key)) {
      throw invalid(
        method,
        `${key} is not a known option (known: ${[...known].join(', ')})`,
      );
    }
  }
}

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

/**
 * Mints the JWTs the Seald SDK asks the backend for: identity sign-up (join the team, add a connector) and
 * anonymous encryption. HS256 with the JWTSecret's bytes, `iss` = JWTSecretId, `iat` always, a random UUID `jti`
 * (single use) unless `oneTime: false`, and only the claims asked for. Scopes are checked against the secret's
 * configured permissions, so a token Seald would refuse is refused here, with a clear error.
 *
 * Inject it after configuring the `seald` section of {@link JwtIssuerModule}.
 *
 * @example
 * constructor(private readonly seald: SealdJwtService) {}
 * signup(userId: string) {
 *   return { token: this.seald.createSignupToken({ userId }) };
 * }
 */
export class SealdJwtService {
  private readonly signer: JwsSigner;
  private readonly secretId: string;
  private readonly allPermissions: boolean;
  private readonly permissions: ReadonlySet<number>;
  private readonly appId: string | undefined;

  private readonly issued: CounterSeries;

  /**
   * @internal Created by `JwtIssuerModule` from the validated section.
   * @param telemetry - where issued tokens are counted.
   */
  constructor(
    options: ResolvedSealdJwtOptions,
    telemetry?: JwtIssuerTelemetry,
  ) {
    this.issued = counterIn(telemetry, JWT_ISSUER_INSTRUMENTS.tokensIssued, {
      [ATTR.kind]: 'seald',
    });
    this.signer = new JwsSigner({ algorithm: 'HS256', key: options.key });
    this.secretId = options.secretId;
    this.allPermissions = options.permissions.includes(SealdPermission.ALL);
    this.permissions = new Set(options.permissions);
    this.appId = options.appId;
  }

  /**
   * Signs a token with exactly the claims asked for, plus `iss`, `iat` and (unless `oneTime: false`) `jti`.
   *
   * @example
   * seald.createToken({ scopes: [SealdPermission.ANONYMOUS_FIND_KEYS], recipients: [sealdId] });
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` naming the option: an unknown option or permission, scopes that are
   * not a subset of the secret's permissions, empty recipients, a connector not of the form `x@appId`.
   */
  createToken(options: SealdTokenOptions = EMPTY): string {
    return this.sign(this.buildClaims('createToken', options));
  }

  /**
   * A sign-up token: `join_team: true` with the `JOIN_TEAM` scope; with `userId`, also `connector_add`
   * `{ value: "<userId>@<appId>", type: "AP" }` and the `ADD_CONNECTOR` scope.
   *
   * @example
   * const token = seald.createSignupToken({ userId: user.uuid });
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` for a bad `userId`, a `userId` without `seald.appId` configured,
   * or a secret whose permissions lack `JOIN_TEAM` / `ADD_CONNECTOR`.
   */
  createSignupToken(options: SealdSignupTokenOptions = {}): string {
    const method = 'createSignupToken';
    checkKeys(method, options, SIGNUP_OPTIONS);
    const { userId } = options;
    let connectorAdd: string | undefined;
    if (userId !== undefined) {
      if (!isNonEmptyString(userId)) {
        throw invalid(method, 'userId must be a non-empty string');
      }
      if (this.appId === undefined) {
        throw invalid(
          method,
          'userId needs the Seald app id: set seald.appId (JWT_ISSUER_SEALD_APP_ID)',
        );
      }
      connectorAdd = `${userId}@${this.appId}`;
    }
    const claims = this.buildClaims(method, {
      scopes:
        connectorAdd === undefined
          ? [SealdPermission.JOIN_TEAM]
          : [SealdPermission.JOIN_TEAM, SealdPermission.ADD_CONNECTOR],
      joinTeam: true,
      connectorAdd,
      oneTime: options.oneTime,
      issuedAt: options.issuedAt,
    });
    return this.sign(claims);
  }

  /**
   * An anonymous-encryption token for the given recipients. With an `owner` its scopes are
   * `[ANONYMOUS_CREATE_MESSAGE, ANONYMOUS_FIND_KEYS]` (find the keys and create the message), without one
   * `[ANONYMOUS_FIND_KEYS]`; pass `scopes` to choose.
   *
   * @example
   * const encryptionToken = seald.createAnonymousEncryptionToken({ recipients: [sealdId], owner: ownerSealdId });
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` for empty or non-string recipients, a bad owner, or scopes outside
   * the secret's permissions.
   */
  createAnonymousEncryptionToken(options: SealdAnonymousTokenOptions): string {
    const method = 'createAnonymousEncryptionToken';
    checkKeys(method, options, ANONYMOUS_OPTIONS);
    if (options.recipients === undefined) {
      throw invalid(method, 'recipients is required (sealdIds)');
    }
    const claims = this.buildClaims(method, {
      scopes:
        options.scopes ??
        (options.owner === undefined
          ? [SealdPermission.ANONYMOUS_FIND_KEYS]
          : [
              SealdPermission.ANONYMOUS_CREATE_MESSAGE,
              SealdPermission.ANONYMOUS_FIND_KEYS,
            ]),
      recipients: options.recipients,
      owner: options.owner,
      oneTime: options.oneTime,
      issuedAt: options.issuedAt,
    });
    return this.sign(claims);
  }

  private buildClaims(
    method: string,
    options: SealdTokenOptions,
  ): SealdTokenClaims {
    if (options !== EMPTY) checkKeys(method, options, TOKEN_OPTIONS);
    const { issuedAt, oneTime } = options;
    const claims: SealdTokenClaims = {
      iss: this.secretId,
      iat:
        issuedAt === undefined ? nowSeconds() : this.seconds(method, issuedAt),
    };
    if (oneTime === undefined || oneTime === true) {
      claims.jti = randomUUID();
    } else if (oneTime !== false) {
      throw invalid(method, 'oneTime must be a boolean');
    }
    if (options.scopes !== undefined) {
      claims.scopes = this.scopes(method, options.scopes);
    }
    if (options.recipients !== undefined) {
      claims.recipients = this.recipients(method, options.recipients);
    }
    if (options.owner !== undefined) {
      if (!isNonEmptyString(options.owner)) {
        throw invalid(method, 'owner must be a non-empty string (a sealdId)');
      }
      claims.owner = options.owner;
    }
    if (options.joinTeam !== undefined) {
      if (typeof options.joinTeam !== 'boolean') {
        throw invalid(method, 'joinTeam must be a boolean');
      }
      claims.join_team = options.joinTeam;
    }
    if (options.connectorAdd !== undefined) {
      claims.connector_add = this.connector(method, options.connectorAdd);
    }
    return claims;
  }

  private seconds(method: string, value: unknown): number {
    const s = toEpochSeconds(value);
    if (s === undefined) {
      throw invalid(
        method,
        'issuedAt must be a Date or whole seconds since the epoch',
      );
    }
    return s;
  }

  private scopes(method: string, scopes: unknown): SealdPermission[] {
    if (!Array.isArray(scopes) || scopes.length === 0) {
      throw invalid(
        method,
        'scopes must be a non-empty array of permissions (leave it out for all of the secret’s permissions)',
      );
    }
    const out: SealdPermission[] = [];
    for (let i = 0; i < scopes.length; i++) {
      const p: unknown = scopes[i];
      if (typeof p !== 'number' || !SEALD_PERMISSION_VALUES.has(p)) {
        throw invalid(
          method,
          `scopes[${i}] is not a known permission (known: ${[...SEALD_PERMISSION_VALUES].join(', ')})`,
        );
      }
      if (!this.allPermissions && !this.permissions.has(p)) {
        throw invalid(
          method,
          `scopes[${i}] (${PERMISSION_NAMES.get(p)}, ${p}) is not among the secret's permissions (seald.permissions: ${[...this.permissions].join(', ')})`,
        );
      }
      out.push(p as SealdPermission);
    }
    return out;
  }

  private recipients(method: string, recipients: unknown): string[] {
    if (!Array.isArray(recipients) || recipients.length === 0) {
      throw invalid(method, 'recipients must be a non-empty array of sealdIds');
    }
    const out: string[] = [];
    for (let i = 0; i < recipients.length; i++) {
      const r: unknown = recipients[i];
      if (!isNonEmptyString(r)) {
        throw invalid(
          method,
          `recipients[${i}] must be a non-empty string (a sealdId)`,
        );
      }
      out.push(r);
    }
    return out;
  }

  private connector(method: string, input: unknown): SealdConnector {
    let value: unknown = input;
    if (typeof input === 'object' && input !== null) {
      const { type, value: v } = input as Partial<SealdConnector>;
      if (type !== undefined && type !== 'AP') {
        throw invalid(method, "connectorAdd.type must be 'AP'");
      }
      value = v;
    }
    const expected = `x@${this.appId ?? 'appId'}`;
    if (typeof value !== 'string') {
      throw invalid(
        method,
        `connectorAdd must be a string of the form ${expected}`,
      );
    }
    const at = value.lastIndexOf('@');
    if (at <= 0 || at === value.length - 1) {
      throw invalid(
        method,
        `connectorAdd must be of the form ${expected} (a custom id, "@", the Seald app id)`,
      );
    }
    if (this.appId !== undefined && value.slice(at + 1) !== this.appId) {
      throw invalid(
        method,
        `connectorAdd must end with "@" and the configured Seald app id (seald.appId), as in ${expected}`,
      );
    }
    return { value, type: 'AP' };
  }

  private sign(claims: object): string {
    const token = this.signer.sign(claims);
    this.issued.value++;
    return token;
  }
}
