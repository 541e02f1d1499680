import type { JwtIssuerModuleOptions } from '../interfaces/jwt-issuer-module-options.interface.js';
import { resolvedOptionsProvider } from '../jwt-issuer.module.js';
import type { ServiceTokenOptions } from '../service-token/index.js';
import type { TestIssuer } from './test-issuer.js';

/**
 * The part of `@nestjs/testing`'s `TestingModuleBuilder` the override helpers use (typed here, so this package
 * does not depend on `@nestjs/testing`).
 */
export interface OverridableTestingModule<B> {
  overrideProvider(token: unknown): {
    useFactory(options: {
      // oxlint-disable-next-line typescript/no-explicit-any
      factory: (...args: any[]) => unknown;
      inject?: unknown[];
    }): B;
  };
}

/**
 * Changes the options an application gives `JwtIssuerModule` in a test, without editing its module: `patch` is merged
 * over the application's own options (`forRoot` / `forRootAsync`), section by section and key by key, before they are
 * validated with the environment as usual. Call it on the builder before `compile()`.
 *
 * @example
 * const moduleRef = await overrideJwtIssuerOptions(
 *   Test.createTestingModule({ imports: [AppModule] }),
 *   { service: { trustedIssuers: [billing.trustedIssuer], jwksCooldown: 0 } },
 * ).compile();
 */
export function overrideJwtIssuerOptions<B>(
  builder: OverridableTestingModule<B>,
  patch: JwtIssuerModuleOptions,
): B {
  const { provide, inject, useFactory } = resolvedOptionsProvider(patch) as {
    provide: symbol;
    inject: unknown[];
    useFactory: (...args: unknown[]) => unknown;
  };
  return builder
    .overrideProvider(provide)
    .useFactory({ factory: useFactory, inject });
}

/**
 * Points an application's `service` section at test issuers: `trustedIssuers` becomes exactly these issuers' entries
 * (the application's own neighbours are replaced), and `extra` keys (e.g. `expectedAudience`, `jwksCooldown`) are
 * merged as in {@link overrideJwtIssuerOptions}.
 *
 * @example
 * const moduleRef = await trustTestIssuers(
 *   Test.createTestingModule({ imports: [AppModule] }),
 *   [billing],
 * ).compile();
 */
export function trustTestIssuers<B>(
  builder: OverridableTestingModule<B>,
  issuers: readonly TestIssuer[],
  extra: Omit<ServiceTokenOptions, 'trustedIssuers'> = {},
): B {
  return overrideJwtIssuerOptions(builder, {
    service: {
      ...extra,
      trustedIssuers: issuers.map((i) => i.trustedIssuer),
    },
  });
}
