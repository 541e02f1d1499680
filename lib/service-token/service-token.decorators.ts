import {
  createParamDecorator,
  type ExecutionContext,
  type PipeTransform,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import {
  SERVICE_CLAIMS_PROPERTY,
  serviceClaimsOf,
} from './transports/service-call.js';

export { SERVICE_CLAIMS_PROPERTY };

/**
 * Who called: the pair (`iss`, `sub`) of a verified service token. Authorize on both: `sub` is whatever the issuer
 * wrote, so any trusted issuer can claim `sub: "billing"`; only `issuer` says which service's key signed the token.
 */
export interface ServiceCaller {
  /** The token's `iss`: a trusted issuer (or this service), whose key signed it. */
  readonly issuer: string;
  /** The token's `sub` as that issuer wrote it (the service name for `getToken()` tokens). */
  readonly subject: string | undefined;
}

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
    const claims = serviceClaimsOf(ctx);
    if (claim === 'caller') {
      return claims === undefined
        ? undefined
        : ({ issuer: claims.iss, subject: claims.sub } satisfies ServiceCaller);
    }
    return claim === undefined ? claims : claims?.[claim];
  },
);
