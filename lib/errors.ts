/**
 * Stable error codes thrown by nest-jwt-issuer. Match on `error.code`, never on the message.
 */
export const JwtIssuerErrorCode = {
  /**
   * Options or environment variables are invalid, a `require`d capability is missing, or a `JWT_ISSUER_*` variable
   * is unknown; thrown at start-up, {@link JwtIssuerConfigError.problems} lists each problem.
   */
  CONFIG_INVALID: 'ERR_JWT_ISSUER_CONFIG_INVALID',
  /**
   * A service was used whose configuration section is absent, or `ServiceTokenService` of a section that only
   * verifies.
   */
  NOT_CONFIGURED: 'ERR_JWT_ISSUER_NOT_CONFIGURED',
  /** A call argument is missing, of the wrong type or out of range. */
  INVALID_ARGUMENT: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
  /** An nkey could not be decoded (bad base32, bad checksum, bad length). */
  NKEY_INVALID: 'ERR_JWT_ISSUER_NKEY_INVALID',
  /** An nkey decoded, but is of another kind than the one required (user seed where an account seed is needed…). */
  NKEY_WRONG_TYPE: 'ERR_JWT_ISSUER_NKEY_WRONG_TYPE',
  /** A PEM/JWK key could not be parsed, or its file was not found or cannot be read. */
  KEY_INVALID: 'ERR_JWT_ISSUER_KEY_INVALID',
  /** A key does not fit the algorithm it is configured for, or a public key was given where a private key is needed. */
  KEY_MISMATCH: 'ERR_JWT_ISSUER_KEY_MISMATCH',
  /** A NATS account JWT is malformed, or does not match the configured account and signing key. */
  ACCOUNT_JWT_INVALID: 'ERR_JWT_ISSUER_ACCOUNT_JWT_INVALID',
  /** Permissions or limits were asked for a user signed by a scoped signing key. */
  SCOPED_KEY_PERMISSIONS: 'ERR_JWT_ISSUER_SCOPED_KEY_PERMISSIONS',
  /**
   * A NATS user `name` or tag would change a subject's structure once a scoped signing key's template writes it in
   * (`*`, `>`, `.`, whitespace, control characters, empty tag value): it could widen the user's rights.
   */
  UNSAFE_TEMPLATE_VALUE: 'ERR_JWT_ISSUER_UNSAFE_TEMPLATE_VALUE',
  /** No token was presented. */
  TOKEN_MISSING: 'ERR_JWT_ISSUER_TOKEN_MISSING',
  /** The token is not a well-formed compact JWS (segments, base64url, JSON). */
  TOKEN_MALFORMED: 'ERR_JWT_ISSUER_TOKEN_MALFORMED',
  /** The token is larger than the configured limit; it was refused before parsing. */
  TOKEN_TOO_LARGE: 'ERR_JWT_ISSUER_TOKEN_TOO_LARGE',
  /** The header asks for something refused: `alg` not allowed for the key, `none`, `crit`, `jku`, `x5u`, `jwk`… */
  TOKEN_HEADER_REFUSED: 'ERR_JWT_ISSUER_TOKEN_HEADER_REFUSED',
  /** No trusted key has the token's `kid`. */
  TOKEN_KEY_UNKNOWN: 'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
  /** The signature does not verify. */
  TOKEN_SIGNATURE_INVALID: 'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
  /** `exp` has passed (beyond the clock tolerance). */
  TOKEN_EXPIRED: 'ERR_JWT_ISSUER_TOKEN_EXPIRED',
  /** `nbf` (or `iat`) is in the future (beyond the clock tolerance). */
  TOKEN_NOT_YET_VALID: 'ERR_JWT_ISSUER_TOKEN_NOT_YET_VALID',
  /** A claim check failed: `iss`, `aud`, `source`… */
  TOKEN_CLAIM_INVALID: 'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
  /** A valid service token whose issuer the route does not accept (`@AllowServices`): refused with 403, not 401. */
  SERVICE_NOT_ALLOWED: 'ERR_JWT_ISSUER_SERVICE_NOT_ALLOWED',
  /**
   * A valid token without the scopes the handler requires (`@RequireScopes`): 403 with
   * `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750), not 401.
   */
  SCOPE_INSUFFICIENT: 'ERR_JWT_ISSUER_SCOPE_INSUFFICIENT',
  /**
   * This service's access token could not be obtained from its OAuth 2.0 token endpoint (unreachable, slow, refused
   * the client, or answered something that is no token response); retried with back-off.
   */
  OAUTH2_TOKEN_UNAVAILABLE: 'ERR_JWT_ISSUER_OAUTH2_TOKEN_UNAVAILABLE',
  /** A remote JWKS could not be fetched or parsed. */
  JWKS_UNAVAILABLE: 'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
  /**
   * The shared key store (`service.keyStore`) could not be read when a replica needed it to start (one without
   * `privateKey`, in development).
   */
  KEY_STORE_UNAVAILABLE: 'ERR_JWT_ISSUER_KEY_STORE_UNAVAILABLE',
} as const;

/** One of the {@link JwtIssuerErrorCode} values. */
export type JwtIssuerErrorCode =
  (typeof JwtIssuerErrorCode)[keyof typeof JwtIssuerErrorCode];

const ERROR_CODES = new Set<unknown>(Object.values(JwtIssuerErrorCode));

/**
 * `code` when it is one of the {@link JwtIssuerErrorCode} values, else `'unexpected'`: a key from a fixed set (for
 * log budgets and metric attributes), never text an error or a token chose. @internal
 */
export function knownErrorCode(
  code: unknown,
): JwtIssuerErrorCode | 'unexpected' {
  return ERROR_CODES.has(code) ? (code as JwtIssuerErrorCode) : 'unexpected';
}

/**
 * The error every part of nest-jwt-issuer throws. Messages name the argument or option at fault and never contain
 * secret material (seeds, private keys, HMAC secrets, tokens).
 *
 * @example
 * try {
 *   issueUserJwt({ signingKey, accountId, publicUserKey });
 * } catch (e) {
 *   if (e instanceof JwtIssuerError && e.code === JwtIssuerErrorCode.NKEY_WRONG_TYPE) { ... }
 * }
 */
export class JwtIssuerError extends Error {
  override readonly name: string = 'JwtIssuerError';

  constructor(
    /** Stable machine-readable code. */
    readonly code: JwtIssuerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A valid token without the scopes the handler requires (`@RequireScopes`): code `SCOPE_INSUFFICIENT`, with the
 * scopes asked for in {@link requiredScope}, as jose's `JWTClaimValidationFailed` carries `claim` and `reason`.
 *
 * @example
 * if (e instanceof JwtIssuerScopeError) console.log(e.requiredScope); // 'orders:read orders:write'
 */
export class JwtIssuerScopeError extends JwtIssuerError {
  override readonly name = 'JwtIssuerScopeError';

  constructor(
    /** The scopes the handler requires, space separated (RFC 6749 scope tokens), for `WWW-Authenticate`. */
    readonly requiredScope: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(JwtIssuerErrorCode.SCOPE_INSUFFICIENT, message, options);
  }
}

/** One configuration problem: the option path, the environment variable behind it (if any), and what is wrong. */
export interface ConfigProblem {
  /** Option path, e.g. `nats.signingKey` (or, for an unknown variable, its name). */
  path: string;
  /** Environment variable that feeds the option, e.g. `JWT_ISSUER_NATS_SIGNING_KEY`. */
  env?: string;
  /** What is wrong; never contains the value of a secret. */
  message: string;
}

/**
 * Thrown once at bootstrap when the options are invalid. `problems` lists **every** problem found, and the message
 * has one `path (ENV_VAR): message` line per problem.
 */
export class JwtIssuerConfigError extends JwtIssuerError {
  override readonly name = 'JwtIssuerConfigError';
  /**
   * Every problem found. Not enumerable: the message already lists them one per line, and loggers that print an
   * error's own properties (Nest's start-up `ExceptionHandler`, `console.error`) would print the list a second time.
   */
  declare readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      JwtIssuerErrorCode.CONFIG_INVALID,
      `Invalid nest-jwt-issuer configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems
          .map(
            (p) => `  - ${p.path}${p.env ? ` (${p.env})` : ''}: ${p.message}`,
          )
          .join('\n'),
    );
    Object.defineProperty(this, 'problems', {
      value: problems,
      enumerable: false,
    });
  }
}
