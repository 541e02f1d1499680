import {
  createParamDecorator,
  type ExecutionContext,
  type PipeTransform,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import {
  SERVICE_CLAIMS_PROPERTY,
  serviceCallerOf,
  serviceClaimsOf,
} from './transports/service-call.js';

export { SERVICE_CLAIMS_PROPERTY };

/**
 * Who called: the pair (`iss`, subject) of a verified service token. Authorize on both: the subject is whatever the
 * issuer wrote, so any trusted issuer can claim `sub: "billing"`; only `issuer` says which service's key signed the
 * token.
 */
export interface ServiceCaller {
  /** The token's `iss`: a trusted issuer (or this service), whose key signed it. */
  readonly issuer: string;
  /**
   * The token's `sub` as that issuer wrote it (the service name for `getToken()` tokens); for an issuer of the
   * `oauth2` profile, the token's `client_id` (the OAuth 2.0 client it was issued to).
   */
  readonly subject: string | undefined;
}

/** What {@link RequireScopes} accepts: one scope, a list (all of them), or `{ allOf }` / `{ anyOf }`. */
export type ScopeRequirement =
  | string
  | readonly string[]
  | { readonly allOf: readonly string[] }
  | { readonly anyOf: readonly string[] };

/** A scope requirement as the guard reads it. */
export interface RequiredScopes {
  /** `allOf`: the token must have every scope; `anyOf`: at least one. */
  readonly mode: 'allOf' | 'anyOf';
  readonly scopes: readonly string[];
}

// RFC 6749 3.3 scope-token: printable ASCII except space, `"` and `\` (so it can go into a WWW-Authenticate header).
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Opts a route, a message handler or a resolver (or a whole class) out of a global {@link ServiceTokenGuard}.
 *
 * @example
 * @SkipServiceAuth()
 * @Get('health')
 * health() { return 'ok'; }
 */
export const SkipServiceAuth = Reflector.createDecorator<boolean | undefined>({
  transform: (value) => value ?? true,
});

/**
 * Accepts on a route (or a class) only the service tokens of these issuers (their `iss`), among those the module
 * trusts. A valid token of another issuer is refused with 403 `Forbidden` (gRPC `PERMISSION_DENIED`): the caller
 * is authenticated, and retrying with the same token cannot help. The handler's setting overrides the class's.
 *
 * @example
 * @UseGuards(ServiceTokenGuard)
 * @AllowServices(['https://orders.internal', 'https://shipping.internal'])
 * @Get('internal/invoices')
 * invoices(@ServiceClaims('caller') caller: ServiceCaller) { … }
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` (when the class is loaded) for an empty list or a non-string issuer.
 */
export const AllowServices = Reflector.createDecorator<
  string | readonly string[],
  readonly string[]
>({
  transform: (value) => {
    const issuers: readonly unknown[] =
      typeof value === 'string' ? [value] : (value ?? []);
    if (
      !Array.isArray(issuers) ||
      issuers.length === 0 ||
      issuers.some((i) => typeof i !== 'string' || i === '')
    ) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        '@AllowServices: give one issuer or a non-empty list of issuers (the iss of their tokens)',
      );
    }
    return Object.freeze([...(issuers as string[])]);
  },
});

/**
 * Requires OAuth 2.0 scopes on a route, a message handler or a resolver (or a whole class; the handler's setting
 * overrides the class's): the token's `scope` claim (space-separated, RFC 9068 / RFC 8693; a JSON list of strings
 * is read too) must hold all of them (a list, or `{ allOf }`) or one of them (`{ anyOf }`). A valid token without
 * them is refused with 403 and `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750) over
 * HTTP, `{ statusCode: 403 }` (gRPC `PERMISSION_DENIED`) on a microservice handler; the handler never runs. Works
 * with tokens of every profile (a service token made by `createJwt({ scope })` too).
 *
 * @example
 * @UseGuards(ServiceTokenGuard)
 * @RequireScopes(['invoices:read'])
 * @Get('internal/invoices')
 * invoices() { … }
 *
 * @RequireScopes({ anyOf: ['invoices:write', 'invoices:admin'] })
 * @Post('internal/invoices')
 * create() { … }
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` (when the class is loaded) for an empty list or a value that is no
 * RFC 6749 scope token.
 */
export const RequireScopes = Reflector.createDecorator<
  ScopeRequirement,
  RequiredScopes
>({
  transform: (value) => {
    const v = value as unknown;
    let mode: RequiredScopes['mode'] = 'allOf';
    let scopes: unknown = v;
    if (typeof v === 'string') scopes = [v];
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as { allOf?: unknown; anyOf?: unknown };
      if ((o.allOf === undefined) === (o.anyOf === undefined))
        scopes = undefined;
      else if (o.anyOf !== undefined) {
        mode = 'anyOf';
        scopes = o.anyOf;
      } else scopes = o.allOf;
    }
    if (
      !Array.isArray(scopes) ||
      scopes.length === 0 ||
      scopes.some((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s))
    ) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        '@RequireScopes: give a scope, a non-empty list of scopes, { allOf: [...] } or { anyOf: [...] }; each scope is printable ASCII without spaces, quotes or backslashes (RFC 6749 scope-token)',
      );
    }
    return Object.freeze({
      mode,
      scopes: Object.freeze([...new Set(scopes as string[])]),
    });
  },
});

/**
 * Injects the verified claims of the calling service (set by {@link ServiceTokenGuard}), one claim of them, or
 * with `'caller'` the {@link ServiceCaller} pair (`issuer`, `subject`) to authorize on. Works in every context the
 * guard checks: HTTP routes, `@MessagePattern` / `@EventPattern` handlers and GraphQL resolvers.
 *
 * @example
 * @UseGuards(ServiceTokenGuard)
 * @Get('internal/stock')
 * stock(@ServiceClaims('caller') caller: ServiceCaller, @ServiceClaims() claims: ServiceTokenClaims) {
 *   if (caller.issuer === 'https://orders.internal' && caller.subject === 'orders') { … }
 * }
 */
// Typed by hand: the inferred type names Nest 12's `ParameterDecoratorOptions`, which Nest 11 declarations lack.
export const ServiceClaims: (
  ...dataOrPipes: (string | undefined | PipeTransform | Type<PipeTransform>)[]
) => ParameterDecorator = createParamDecorator(
  (claim: 'caller' | string | undefined, ctx: ExecutionContext): unknown => {
    if (claim === 'caller')
      return serviceCallerOf(ctx) satisfies ServiceCaller | undefined;
    const claims = serviceClaimsOf(ctx);
    return claim === undefined ? claims : claims?.[claim];
  },
);
