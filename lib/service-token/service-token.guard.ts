import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import type { ServiceTokenClaims } from './interfaces/service-token-options.interface.js';
import {
  SERVICE_CLAIMS_PROPERTY,
  SkipServiceAuth,
} from './service-token.decorators.js';
import { ServiceTokenVerifier } from './service-token.verifier.js';

/** The parts of an HTTP request (Express or Fastify) the guard reads. */
export interface ServiceTokenRequest {
  headers: Record<string, string | string[] | undefined>;
  method?: string;
  url?: string;
  [SERVICE_CLAIMS_PROPERTY]?: ServiceTokenClaims;
}

const BEARER = /^Bearer +([^ ]+) *$/i;

/**
 * Lets a request through only with a valid service token in `Authorization: Bearer …` (see
 * {@link ServiceTokenVerifier}); the verified claims go to `request.serviceClaims` and {@link ServiceClaims}.
 * Otherwise answers 401 with `WWW-Authenticate: Bearer error="invalid_token"` and a body that says nothing more,
 * and logs the reason (never the token). Per route with `@UseGuards(ServiceTokenGuard)`, or global
 * (`{ provide: APP_GUARD, useClass: ServiceTokenGuard }`) with {@link SkipServiceAuth} on public routes.
 * HTTP only (Express and Fastify). Subclass to change `extractToken`, `verify` or `onUnauthorized`.
 *
 * @example
 * @UseGuards(ServiceTokenGuard)
 * @Get('internal/stock')
 * stock(@ServiceClaims('sub') caller: string) { … }
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  protected readonly logger = new Logger('ServiceTokenGuard');

  constructor(
    protected readonly reflector: Reflector,
    protected readonly verifier: ServiceTokenVerifier,
  ) {}

  /** Checks the token; resolves synchronously when the issuer's key is already known. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (
      this.reflector.getAllAndOverride(SkipServiceAuth, [
        context.getHandler(),
        context.getClass(),
      ])
    ) {
      return true;
    }
    if (context.getType() !== 'http') {
      this.onUnauthorized(
        new JwtIssuerError(
          JwtIssuerErrorCode.TOKEN_MISSING,
          `not an HTTP call (${context.getType()})`,
        ),
        context,
      );
    }
    const request = context.switchToHttp().getRequest<ServiceTokenRequest>();
    const token = this.extractToken(request);
    if (token === undefined) {
      this.onUnauthorized(
        new JwtIssuerError(
          JwtIssuerErrorCode.TOKEN_MISSING,
          'no Authorization: Bearer token',
        ),
        context,
      );
    }
    let result: ServiceTokenClaims | Promise<ServiceTokenClaims>;
    try {
      result = this.verify(token, context);
    } catch (e) {
      this.onUnauthorized(e, context);
    }
    if (result instanceof Promise) {
      return result.then(
        (claims) => {
          request[SERVICE_CLAIMS_PROPERTY] = claims;
          return true;
        },
        (e: unknown) => this.onUnauthorized(e, context),
      );
    }
    request[SERVICE_CLAIMS_PROPERTY] = result;
    return true;
  }

  /** The bearer token of the request, or `undefined`. */
  protected extractToken(request: ServiceTokenRequest): string | undefined {
    const header = request.headers.authorization;
    if (typeof header !== 'string') return undefined;
    return BEARER.exec(header)?.[1];
  }

  /** Verifies the token (synchronously when possible). */
  protected verify(
    token: string,
    context: ExecutionContext,
  ): ServiceTokenClaims | Promise<ServiceTokenClaims> {
    void context;
    return this.verifier.verifyFast(token);
  }

  /**
   * Logs why the call was refused and throws the 401. The log line has the error code and reason, the method and
   * path (without query string); never the token.
   *
   * @throws {UnauthorizedException} always.
   */
  protected onUnauthorized(error: unknown, context: ExecutionContext): never {
    let reason: string;
    if (error instanceof JwtIssuerError) {
      if (error.code === JwtIssuerErrorCode.NOT_CONFIGURED) throw error;
      reason = `${error.code}: ${error.message}`;
    } else {
      reason = `unexpected ${(error as Error)?.name ?? 'error'}`;
    }
    if (context.getType() === 'http') {
      const http = context.switchToHttp();
      const req = http.getRequest<ServiceTokenRequest>();
      const res = http.getResponse<{
        header?: (n: string, v: string) => unknown;
        setHeader?: (n: string, v: string) => unknown;
      }>();
      // Fastify's reply and Express' response both have header(); a raw Node response has setHeader().
      if (typeof res.header === 'function')
        res.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      else res.setHeader?.('WWW-Authenticate', 'Bearer error="invalid_token"');
      const path = (req.url ?? '').split('?')[0];
      reason = `${req.method ?? '?'} ${path}: ${reason}`;
    }
    this.logger.warn(
      `Refused service token on ${reason.replace(/[^ -~]/g, '?')}`,
    );
    throw new UnauthorizedException();
  }
}
