import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  Optional,
  type Type,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { refusalFor } from '../../common/token-refusal.js';
import {
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtIssuerScopeError,
} from '../../errors.js';
import type { ServiceTokenClaims } from '../interfaces/service-token-options.interface.js';
import { ServiceTokenLocator } from './service-token.locator.js';
import { ServiceTokenRefusalLog } from './service-token-refusal-log.js';
import {
  AllowServices,
  type RequiredScopes,
  RequireScopes,
  SkipServiceAuth,
} from './service-token.decorators.js';
import { ServiceTokenVerifier } from './service-token.verifier.js';
import { loadRpcException, rpcRefusal } from './transports/rpc-refusal.js';
import {
  SERVICE_CALLER_RESOLVER,
  SERVICE_CLAIMS_PROPERTY,
  SERVICE_TOKEN_CONTEXT_TYPES,
  type ServiceTokenContextType,
  type ServiceTokenRequest,
  isGrpcMetadata,
  serviceTokenRequestOf,
} from './transports/service-call.js';
import {
  loadWsException,
  socketCallOf,
  wsRefusal,
} from './transports/websocket.js';

export type { ServiceTokenContextType, ServiceTokenRequest };

/** Options of {@link ServiceTokenGuard.with}. */
export interface ServiceTokenGuardOptions {
  /**
   * The kinds of call the guard checks; calls of other kinds pass through it untouched (for a global guard in a
   * hybrid app whose other entry points are guarded otherwise). A kind it checks but cannot read (a GraphQL context
   * without a request) is refused.
   * @default every kind: `['http', 'rpc', 'graphql', 'ws']`, and anything else is refused
   */
  contexts?: readonly ServiceTokenContextType[];
}

/** What a handler's decorators say to the guard. */
interface RouteRules {
  readonly skip: boolean;
  readonly allowed: readonly string[] | undefined;
  readonly scopes: RequiredScopes | undefined;
}

/**
 * Lets a call through only with a valid service token in `authorization: Bearer …` (see
 * {@link ServiceTokenVerifier}), on HTTP routes (Express, Fastify), microservice handlers (`@MessagePattern`,
 * `@EventPattern`: NATS headers, gRPC metadata, RabbitMQ, Kafka and MQTT 5 headers), GraphQL resolvers (the
 * request in the GraphQL context) and WebSocket gateway messages (`@SubscribeMessage`, `ws` and socket.io: the
 * token verified once at the handshake by {@link ServiceTokenHandshake}, accepted until it expires). The verified
 * claims go to {@link ServiceClaims} (and `request.serviceClaims`).
 *
 * Refusals say nothing an attacker can use: over HTTP 401 with `WWW-Authenticate: Bearer error="invalid_token"`
 * (a bare `Bearer` when no token was presented, RFC 6750 §3.1);
 * a valid token whose issuer the route does not accept ({@link AllowServices}) 403, one without the scopes the
 * handler requires ({@link RequireScopes}) 403 with `Bearer error="insufficient_scope", scope="…"`; a message handler's caller gets
 * an `RpcException` `{ statusCode: 401, message: 'Unauthorized' }` (gRPC: status `UNAUTHENTICATED`), an event is
 * dropped; a gateway message gets a `WsException` (the `exception` event) and, for a 401, its socket is closed (`ws`
 * close code 4401, socket.io disconnect). The reason is logged, never the token, and the log is bounded: the first refusals of a window in detail
 * (`service.refusalLogLines` per `service.refusalLogWindow` seconds, shared by every guard of the application), the
 * others counted by code in one summary line per window. Transports without headers (TCP, Redis) cannot carry a token:
 * their calls are refused. Per handler with `@UseGuards(ServiceTokenGuard)`, or global with
 * {@link SkipServiceAuth} on public handlers; `ServiceTokenGuard.with({ contexts })` limits a global guard to some
 * kinds of call. The token is what the {@link ServiceTokenLocator} finds (provide your own to read a cookie); the
 * answer to a refusal is the one `JwtIssuerExceptionFilter` gives the same error. Subclass to change `getRequest`,
 * `extractToken`, `verify` or `onUnauthorized`.
 *
 * @example
 * @UseGuards(ServiceTokenGuard)
 * @Get('internal/stock')
 * stock(@ServiceClaims('caller') caller: ServiceCaller) { … }
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  protected readonly logger = new Logger('ServiceTokenGuard');
  /** The kinds of call checked (see {@link ServiceTokenGuardOptions.contexts}); `undefined`: all. */
  protected readonly contexts: readonly string[] | undefined = undefined;
  /**
   * The application's refusal log budget, set by Nest (property injection keeps subclass constructors unchanged);
   * a guard built with `new` gets its own with the defaults.
   */
  @Optional()
  @Inject(ServiceTokenRefusalLog)
  private refusalLog: ServiceTokenRefusalLog | undefined;
  /** Where tokens come from, set by Nest (the application's own {@link ServiceTokenLocator} when it provides one). */
  @Optional()
  @Inject(ServiceTokenLocator)
  private injectedLocator: ServiceTokenLocator | undefined;

  private readonly routeRules = new WeakMap<
    object,
    WeakMap<object, RouteRules>
  >();

  constructor(
    protected readonly reflector: Reflector,
    protected readonly verifier: ServiceTokenVerifier,
  ) {}

  /**
   * A guard class that checks only some kinds of call, for `APP_GUARD` in a hybrid app.
   *
   * @example
   * providers: [{ provide: APP_GUARD, useClass: ServiceTokenGuard.with({ contexts: ['http', 'rpc'] }) }]
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` for an empty or unknown context list.
   */
  static with(options: ServiceTokenGuardOptions): Type<ServiceTokenGuard> {
    return guardForContexts(this, options);
  }

  /** Where tokens come from: the injected {@link ServiceTokenLocator}, or the default one for a guard built with `new`. */
  protected get locator(): ServiceTokenLocator {
    return (this.injectedLocator ??= new ServiceTokenLocator());
  }

  /** Checks the token; resolves synchronously when the issuer's key is already known. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const rules = this.rulesOf(context);
    if (rules.skip) return true;
    const type = context.getType<string>();
    if (this.contexts !== undefined && !this.contexts.includes(type)) {
      return true;
    }
    if (type === 'rpc' || type === 'ws') {
      const loading = type === 'rpc' ? loadRpcException() : loadWsException();
      if (loading !== undefined)
        return loading.then(() => this.canActivate(context));
    }
    if (type === 'ws') return this.activateSocket(context, rules);
    const request = this.getRequest(context);
    if (request === undefined) {
      this.onUnauthorized(
        this.locator.missing({ type, headers: {}, context }),
        context,
      );
    }
    const token = this.extractToken(request, context);
    if (token === undefined) {
      this.onUnauthorized(
        this.locator.missing({
          type,
          headers: request.headers,
          request,
          context,
        }),
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
        (claims) => this.admit(request, claims, rules, context),
        (e: unknown) => this.onUnauthorized(e, context),
      );
    }
    return this.admit(request, result, rules, context);
  }

  /**
   * The request of the call, or `undefined` for a call the guard cannot read (refused as `TOKEN_MISSING`): the HTTP
   * request (Express, Fastify; for GraphQL the one in its context), or for a microservice message one built from the
   * transport's headers (names in lower case), kept on the message's context for {@link ServiceClaims}. Override
   * to find the request elsewhere (as throttler's `getRequestResponse`). Gateway messages do not come here: their
   * socket's token was located and verified at its handshake.
   */
  protected getRequest(
    context: ExecutionContext,
  ): ServiceTokenRequest | undefined {
    return serviceTokenRequestOf(context);
  }

  /**
   * The token of the call, or `undefined`: what the {@link ServiceTokenLocator} finds (by default the
   * `authorization: Bearer` header of the request or of the microservice message). `context` is optional so that
   * overrides written for the HTTP-only guard (`super.extractToken(request)`) keep compiling.
   */
  protected extractToken(
    request: ServiceTokenRequest,
    context?: ExecutionContext,
  ): string | undefined {
    return this.locator.locate({
      type: context?.getType<string>() ?? 'http',
      headers: request.headers,
      request,
      context,
    });
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
   * Whether verified claims hold the scopes a handler requires ({@link RequireScopes}): the `scope` claim, space
   * separated (a list of strings is read too). Override to read another claim (e.g. Entra's `roles`, Okta's `scp`).
   */
  protected hasScopes(
    claims: ServiceTokenClaims,
    required: RequiredScopes,
  ): boolean {
    const granted = grantedScopes(claims);
    return required.mode === 'allOf'
      ? required.scopes.every((s) => granted.has(s))
      : required.scopes.some((s) => granted.has(s));
  }

  /**
   * Logs why the call was refused and throws what the caller receives: over HTTP and GraphQL an
   * `UnauthorizedException` (a `ForbiddenException` for `SERVICE_NOT_ALLOWED`), with `WWW-Authenticate` on HTTP;
   * on a microservice handler an `RpcException`; on a gateway message a `WsException` (and a 401 closes the socket). The log line has the error code and reason and where the call
   * went (HTTP method and path without query string, or the handler); never the token. Past the application's
   * budget (`service.refusalLogLines` per `service.refusalLogWindow`) the line is replaced by a count per error code,
   * written as one summary line when the window ends.
   *
   * @throws {UnauthorizedException | ForbiddenException | RpcException | WsException} always.
   */
  protected onUnauthorized(error: unknown, context: ExecutionContext): never {
    const code = error instanceof JwtIssuerError ? error.code : undefined;
    if (code === JwtIssuerErrorCode.NOT_CONFIGURED) throw error;
    const refusal = refusalFor(error);
    const type = context.getType<string>();
    if (type === 'http') {
      const res = context.switchToHttp().getResponse<{
        header?: (n: string, v: string) => unknown;
        setHeader?: (n: string, v: string) => unknown;
      }>();
      const value = refusal.wwwAuthenticate;
      // Fastify's reply and Express' response both have header(); a raw Node response has setHeader().
      if (typeof res.header === 'function')
        res.header('WWW-Authenticate', value);
      else res.setHeader?.('WWW-Authenticate', value);
    }
    // Bounded: past the window's budget only the code is counted, for the window's one summary line.
    this.refusalLog ??= new ServiceTokenRefusalLog();
    this.refusalLog.refused(this.logger, error, refusalPlace(context));
    if (type === 'ws') {
      throw wsRefusal(refusal, context.switchToWs().getClient());
    }
    if (type === 'rpc') {
      throw rpcRefusal(
        refusal,
        isGrpcMetadata(context.switchToRpc().getContext()),
      );
    }
    throw refusal.status === 403
      ? new ForbiddenException()
      : new UnauthorizedException();
  }

  /**
   * The handler's `@SkipServiceAuth` and `@AllowServices` (handler over class), read once per handler and class:
   * decorators are applied when classes are defined, and reading them through `Reflector` costs four metadata
   * look-ups per call.
   */
  private rulesOf(context: ExecutionContext): RouteRules {
    const handler = context.getHandler();
    const cls = context.getClass();
    let byClass = this.routeRules.get(handler);
    if (byClass === undefined) {
      byClass = new WeakMap();
      this.routeRules.set(handler, byClass);
    }
    let rules = byClass.get(cls);
    if (rules === undefined) {
      const targets = [handler, cls];
      rules = {
        skip:
          this.reflector.getAllAndOverride(SkipServiceAuth, targets) === true,
        allowed: this.reflector.getAllAndOverride(AllowServices, targets),
        scopes: this.reflector.getAllAndOverride(RequireScopes, targets),
      };
      byClass.set(cls, rules);
    }
    return rules;
  }

  /** A gateway message: the claims its socket's handshake verified, checked against their expiry, no new verification. */
  private activateSocket(
    context: ExecutionContext,
    rules: RouteRules,
  ): true | Promise<true> {
    let call: ReturnType<typeof socketCallOf>;
    try {
      call = socketCallOf(context.switchToWs().getClient(), Date.now());
    } catch (e) {
      this.onUnauthorized(e, context);
    }
    const { request, claims } = call;
    if (claims instanceof Promise) {
      return claims.then(
        (c) => this.admit(request, c, rules, context),
        (e: unknown) => this.onUnauthorized(e, context),
      );
    }
    return this.admit(request, claims, rules, context);
  }

  private admit(
    request: ServiceTokenRequest,
    claims: ServiceTokenClaims,
    rules: RouteRules,
    context: ExecutionContext,
  ): true {
    const { allowed, scopes } = rules;
    if (allowed !== undefined && !allowed.includes(claims.iss)) {
      this.onUnauthorized(
        new JwtIssuerError(
          JwtIssuerErrorCode.SERVICE_NOT_ALLOWED,
          `issuer ${claims.iss} (sub ${String(claims.sub)}) is not among the issuers this handler allows`,
        ),
        context,
      );
    }
    if (scopes !== undefined && !this.hasScopes(claims, scopes)) {
      const error = new JwtIssuerScopeError(
        scopes.scopes.join(' '),
        `issuer ${claims.iss} (caller ${String(this.verifier.callerOf(claims).subject)}) lacks ${scopes.mode === 'allOf' ? 'the scopes' : 'one of the scopes'} ${scopes.scopes.join(' ')}`,
      );
      this.onUnauthorized(error, context);
    }
    request[SERVICE_CLAIMS_PROPERTY] = claims;
    request[SERVICE_CALLER_RESOLVER] = this.verifier;
    return true;
  }
}

// Parsed scopes of claims served from the verified-token cache (the same frozen object on every hit).
const scopesOfClaims = new WeakMap<object, ReadonlySet<string>>();

/** The scopes a token grants: its `scope` claim split on spaces (or a JSON list of strings). */
function grantedScopes(claims: ServiceTokenClaims): ReadonlySet<string> {
  let granted = scopesOfClaims.get(claims);
  if (granted === undefined) {
    const raw: unknown = claims.scope;
    const list =
      typeof raw === 'string'
        ? raw.split(' ')
        : Array.isArray(raw)
          ? raw.filter((s): s is string => typeof s === 'string')
          : [];
    granted = new Set(list.filter((s) => s !== ''));
    scopesOfClaims.set(claims, granted);
  }
  return granted;
}

/** Where the refused call went: `GET /path` (no query string) or `rpc Class.handler`, `ws Class.handler`. */
function refusalPlace(context: ExecutionContext): string {
  const type = context.getType<string>();
  if (type === 'http') {
    const req = context.switchToHttp().getRequest<ServiceTokenRequest>();
    return `${req.method ?? '?'} ${(req.url ?? '').split('?')[0]}`;
  }
  return `${type} ${context.getClass()?.name ?? '?'}.${context.getHandler()?.name ?? '?'}`;
}

// Outside the class body: a decorated class declared inside a method of a decorated class loses the outer class's
// constructor metadata with some transforms (oxc), and then DI cannot inject it.
function guardForContexts(
  base: typeof ServiceTokenGuard,
  options: ServiceTokenGuardOptions,
): Type<ServiceTokenGuard> {
  const contexts: unknown = options?.contexts;
  if (
    !Array.isArray(contexts) ||
    contexts.length === 0 ||
    contexts.some(
      (c) =>
        !SERVICE_TOKEN_CONTEXT_TYPES.includes(c as ServiceTokenContextType),
    )
  ) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      `ServiceTokenGuard.with: contexts must be a non-empty list of ${SERVICE_TOKEN_CONTEXT_TYPES.map((c) => `'${c}'`).join(', ')}`,
    );
  }
  const covered: readonly string[] = Object.freeze([...(contexts as string[])]);
  @Injectable()
  class ServiceTokenGuardForContexts extends base {
    protected override readonly contexts: readonly string[] = covered;
  }
  Object.defineProperty(ServiceTokenGuardForContexts, 'name', {
    value: `ServiceTokenGuard(${covered.join(',')})`,
  });
  return ServiceTokenGuardForContexts;
}
