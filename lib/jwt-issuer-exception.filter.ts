import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpStatus,
  Injectable,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { JwtIssuerError, JwtIssuerErrorCode } from './errors.js';
import { RateLimitedLog } from './common/rate-limited-log.js';
import { refusalBody, refusalFor } from './common/token-refusal.js';

/** The JSON body {@link JwtIssuerExceptionFilter} answers with. */
export interface JwtIssuerErrorBody {
  /** The HTTP status, repeated (as Nest's own error bodies do). */
  statusCode: number;
  /** The library's stable code; absent on 401, whose body is the same whatever the reason. */
  code?: JwtIssuerErrorCode;
  /** A fixed text per code: never the error's own message, so never a value the caller or the server supplied. */
  message: string;
}

const C = JwtIssuerErrorCode;

// Fixed, public texts. The error's own message (which names the argument and never holds a secret) goes to the log.
const MESSAGES: Partial<Record<JwtIssuerErrorCode, string>> = {
  [C.INVALID_ARGUMENT]:
    'A value was refused: missing, of the wrong type or out of range',
  [C.NKEY_INVALID]: 'An nkey could not be decoded',
  [C.NKEY_WRONG_TYPE]: 'An nkey is of the wrong kind',
  [C.SCOPED_KEY_PERMISSIONS]:
    'Permissions and limits cannot be set for users of a scoped signing key',
  [C.UNSAFE_TEMPLATE_VALUE]:
    "A NATS user name or tag was refused: it could widen the user's rights",
  [C.KEY_INVALID]: 'A key could not be parsed',
  [C.KEY_MISMATCH]: 'A key does not fit its algorithm or use',
  [C.ACCOUNT_JWT_INVALID]: 'A NATS account JWT was refused',
  [C.NOT_CONFIGURED]: 'This capability is not configured on the server',
  [C.JWKS_UNAVAILABLE]: 'The keys of a trusted issuer cannot be fetched now',
  [C.KEY_STORE_UNAVAILABLE]: 'The shared key store cannot be reached now',
  [C.OAUTH2_TOKEN_UNAVAILABLE]:
    'This service cannot obtain its access token from its identity provider now',
};

/**
 * Answers a {@link JwtIssuerError} that escapes a route (a library call refusing its arguments, a token that does not
 * verify, a capability that is not configured) with a 4xx/503 instead of Nest's default 500:
 *
 * | codes | status | body |
 * |---|---|---|
 * | `INVALID_ARGUMENT`, `NKEY_*`, `KEY_*`, `SCOPED_KEY_PERMISSIONS`, `UNSAFE_TEMPLATE_VALUE`, `ACCOUNT_JWT_INVALID` | 400 | `{ statusCode, code, message }` |
 * | `TOKEN_*` | 401 + `WWW-Authenticate: Bearer …` | `{ statusCode: 401, message: 'Unauthorized' }`, the same for every reason |
 * | `SERVICE_NOT_ALLOWED`, `SCOPE_INSUFFICIENT` | 403 + `WWW-Authenticate: Bearer error="insufficient_scope"…` | `{ statusCode: 403, message: 'Forbidden' }` |
 * | `NOT_CONFIGURED`, `JWKS_UNAVAILABLE`, `KEY_STORE_UNAVAILABLE`, `OAUTH2_TOKEN_UNAVAILABLE` | 503 | `{ statusCode, code, message }` |
 * | `CONFIG_INVALID` and any other | 500 | `{ statusCode, code, message }` |
 *
 * 401 and 403 are answered exactly as {@link ServiceTokenGuard} answers the same error (one mapping: the bare
 * `Bearer` when no token was presented, RFC 6750 §3.1). `message` is a fixed text per code, never the error's own
 * message: no value from the request or the server (secret or not) reaches the client. One log line per error (warning for 4xx, error otherwise) gives operators the
 * method, the path without its query string, the code and the library's message, which never holds a secret; at
 * most 10 such lines per minute per filter instance, the others counted by code in one summary warning per minute
 * (a client sending bad input in a loop costs a bounded log).
 * Works on Express and Fastify (it replies through the HTTP adapter). HTTP only: in other contexts the error is
 * rethrown unchanged. Subclass and override `statusOf`, `bodyOf` or `log` to change the mapping, the body (e.g.
 * to show the library's message on 400) or the log line.
 *
 * @example
 * // app.module.ts: for the whole application, with dependency injection
 * providers: [{ provide: APP_FILTER, useClass: JwtIssuerExceptionFilter }]
 * // or in main.ts
 * app.useGlobalFilters(new JwtIssuerExceptionFilter(app.get(HttpAdapterHost)));
 * // or per controller or route
 * @UseFilters(JwtIssuerExceptionFilter)
 */
@Catch(JwtIssuerError)
@Injectable()
export class JwtIssuerExceptionFilter
  implements ExceptionFilter<JwtIssuerError>, OnApplicationShutdown
{
  protected readonly logger = new Logger('JwtIssuerExceptionFilter');
  /** Bounds {@link log}: 10 detailed lines a minute, then one summary line per minute by code. */
  private readonly logLimit = new RateLimitedLog(
    (line) => this.logger.warn(line),
    { lines: 10, windowMs: 60_000, subject: 'errors' },
  );

  constructor(protected readonly adapterHost: HttpAdapterHost) {}

  /**
   * Replies with the status and body of {@link statusOf} and {@link bodyOf}, and logs the error.
   *
   * @throws the error itself, unchanged, outside an HTTP context.
   */
  catch(error: JwtIssuerError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const adapter = this.adapterHost.httpAdapter;
    const http = host.switchToHttp();
    const request: unknown = http.getRequest();
    const response: unknown = http.getResponse();
    const status = this.statusOf(error);
    const method = String(adapter.getRequestMethod(request) ?? '?');
    const path = String(adapter.getRequestUrl(request) ?? '').split('?')[0];
    this.log(error, status, `${method} ${path}`);
    if (adapter.isHeadersSent(response)) {
      adapter.end(response);
      return;
    }
    // The guard's answer to the same error (RFC 6750 §3): one mapping for both.
    if (status === 401 || status === 403) {
      adapter.setHeader(
        response,
        'WWW-Authenticate',
        refusalFor(error).wwwAuthenticate,
      );
    }
    adapter.reply(response, this.bodyOf(error, status), status);
  }

  /** The HTTP status of an error, from its code (see the table above). */
  protected statusOf(error: JwtIssuerError): number {
    const code = error.code;
    if (code.startsWith('ERR_JWT_ISSUER_TOKEN_'))
      return HttpStatus.UNAUTHORIZED;
    switch (code) {
      case C.NOT_CONFIGURED:
      case C.JWKS_UNAVAILABLE:
      case C.KEY_STORE_UNAVAILABLE:
      case C.OAUTH2_TOKEN_UNAVAILABLE:
        return HttpStatus.SERVICE_UNAVAILABLE;
      case C.CONFIG_INVALID:
        return HttpStatus.INTERNAL_SERVER_ERROR;
      case C.SERVICE_NOT_ALLOWED:
      case C.SCOPE_INSUFFICIENT:
        return HttpStatus.FORBIDDEN;
      default:
        return MESSAGES[code] === undefined
          ? HttpStatus.INTERNAL_SERVER_ERROR
          : HttpStatus.BAD_REQUEST;
    }
  }

  /** The JSON body: the code and a fixed text for it; on 401 only `Unauthorized`, whatever the reason. */
  protected bodyOf(error: JwtIssuerError, status: number): JwtIssuerErrorBody {
    if (status === 401) return { ...refusalBody(401) };
    // Like the guard's @AllowServices refusal: nothing about which issuers are allowed.
    if (refusalFor(error).status === 403)
      return { statusCode: status, message: refusalBody(403).message };
    return {
      statusCode: status,
      code: error.code,
      message: MESSAGES[error.code] ?? 'Internal server error',
    };
  }

  /**
   * One log line for operators: `<METHOD> <path>: <status> <code>: <library message>`, control characters masked;
   * past 10 lines in a minute only the code is counted, for the minute's one summary line.
   */
  protected log(error: JwtIssuerError, status: number, route: string): void {
    if (!this.logLimit.admit(error.code)) return;
    const line = `${route}: ${status} ${error.code}: ${error.message}`.replace(
      /[^ -~]/g,
      '?',
    );
    if (status < 500) this.logger.warn(line);
    else this.logger.error(line);
  }

  /** Writes the pending summary of held-back log lines and stops its timer (the application is closing). */
  onApplicationShutdown(): void {
    this.logLimit.close();
  }
}
