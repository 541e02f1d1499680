import {
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtIssuerScopeError,
} from '../errors.js';

/** The body of a refusal over HTTP and RPC: the same whatever the reason, nothing an attacker can use. @internal */
export interface TokenRefusalBody {
  readonly statusCode: 401 | 403;
  readonly message: 'Unauthorized' | 'Forbidden';
}

/**
 * How a call refused for its token is answered, whatever carried it: the guard (every transport) and
 * `JwtIssuerExceptionFilter` (HTTP) both read it here, so the same error gets the same answer from either. @internal
 */
export interface TokenRefusal {
  /** 401: no valid token; 403: a valid token the handler does not accept (`@AllowServices`, `@RequireScopes`). */
  readonly status: 401 | 403;
  readonly body: TokenRefusalBody;
  /**
   * The HTTP `WWW-Authenticate` header (RFC 6750 §3): bare `Bearer` when no token was presented (§3.1: no error
   * code then), `Bearer error="invalid_token"` for a token that does not verify, `Bearer
   * error="insufficient_scope"` (with `scope="…"`, the scopes the handler requires) on 403.
   */
  readonly wwwAuthenticate: string;
}

const UNAUTHORIZED: TokenRefusalBody = Object.freeze({
  statusCode: 401,
  message: 'Unauthorized',
});
const FORBIDDEN: TokenRefusalBody = Object.freeze({
  statusCode: 403,
  message: 'Forbidden',
});

/** The body of a 401 or a 403 refusal. @internal */
export function refusalBody(status: 401 | 403): TokenRefusalBody {
  return status === 403 ? FORBIDDEN : UNAUTHORIZED;
}

/**
 * The answer to a refusal: 403 for `SERVICE_NOT_ALLOWED` and `SCOPE_INSUFFICIENT`, 401 for anything else (a
 * `TOKEN_*` code, a key that cannot be fetched, an unexpected error). The required scope comes from a
 * {@link JwtIssuerScopeError} (RFC 6749 scope tokens, from the decorator: no quote, backslash or control character).
 * @internal
 */
export function refusalFor(error: unknown): TokenRefusal {
  const code = error instanceof JwtIssuerError ? error.code : undefined;
  if (
    code === JwtIssuerErrorCode.SERVICE_NOT_ALLOWED ||
    code === JwtIssuerErrorCode.SCOPE_INSUFFICIENT
  ) {
    return {
      status: 403,
      body: FORBIDDEN,
      wwwAuthenticate: `Bearer error="insufficient_scope"${error instanceof JwtIssuerScopeError ? `, scope="${error.requiredScope}"` : ''}`,
    };
  }
  return {
    status: 401,
    body: UNAUTHORIZED,
    wwwAuthenticate:
      code === JwtIssuerErrorCode.TOKEN_MISSING
        ? 'Bearer'
        : 'Bearer error="invalid_token"',
  };
}
