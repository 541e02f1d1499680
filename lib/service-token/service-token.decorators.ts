import {
  createParamDecorator,
  type ExecutionContext,
  type PipeTransform,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ServiceTokenClaims } from './interfaces/service-token-options.interface.js';

/** Property of the request where {@link ServiceTokenGuard} puts the verified claims. */
export const SERVICE_CLAIMS_PROPERTY = 'serviceClaims';

/**
 * Opts a route (or a whole controller) out of a global {@link ServiceTokenGuard}.
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
 * Injects the verified claims of the calling service (set by {@link ServiceTokenGuard}), or one claim of them.
 *
 * @example
 * @UseGuards(ServiceTokenGuard)
 * @Get('internal/stock')
 * stock(@ServiceClaims() caller: ServiceTokenClaims, @ServiceClaims('sub') service: string) { … }
 */
// Typed by hand: the inferred type names Nest 12's `ParameterDecoratorOptions`, which Nest 11 declarations lack.
export const ServiceClaims: (
  ...dataOrPipes: (string | undefined | PipeTransform | Type<PipeTransform>)[]
) => ParameterDecorator = createParamDecorator(
  (claim: string | undefined, ctx: ExecutionContext): unknown => {
    const req = ctx.switchToHttp().getRequest<Record<string, unknown>>();
    const claims = req[SERVICE_CLAIMS_PROPERTY] as
      ServiceTokenClaims | undefined;
    return claim === undefined ? claims : claims?.[claim];
  },
);
