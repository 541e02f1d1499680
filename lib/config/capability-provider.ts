import type { InjectionToken, Provider } from '@nestjs/common';
import { notConfigured } from '../common/not-configured.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../jwt-issuer.module-definition.js';
import type { ResolvedJwtIssuerOptions } from './resolve-options.js';

type Section = keyof ResolvedJwtIssuerOptions;

/**
 * The provider of one capability's service: built from its validated section when that section is configured,
 * otherwise a stand-in whose every use throws `NOT_CONFIGURED` naming `envHint` (see {@link notConfigured}).
 * `inject` lists further dependencies, passed to `create` after the section.
 */
export function capabilityProvider<T extends object, S extends Section>(
  token: abstract new (...args: never[]) => T,
  section: S,
  envHint: string,
  create: (
    options: NonNullable<ResolvedJwtIssuerOptions[S]>,
    ...deps: never[]
  ) => T,
  inject: InjectionToken[] = [],
): Provider {
  return {
    provide: token,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS, ...inject],
    useFactory: (resolved: ResolvedJwtIssuerOptions, ...deps: never[]) => {
      const options = resolved[section];
      return options
        ? create(options as NonNullable<ResolvedJwtIssuerOptions[S]>, ...deps)
        : notConfigured<T>(token.name, section, envHint);
    },
  };
}
