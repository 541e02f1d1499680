import type { InjectionToken, Provider } from '@nestjs/common';
import { notConfigured } from '../common/not-configured.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from './resolved-options.token.js';
import {
  type ResolvedSections,
  resolvedSection,
} from './capability.interface.js';

/**
 * The provider of one capability's service: built from its validated section when that section is configured,
 * otherwise an instance whose every use throws `NOT_CONFIGURED` naming `envHint` (see {@link notConfigured}).
 * `inject` lists further dependencies, passed to `create` after the section; `fields`, the public instance fields of
 * `token`'s class (they throw too).
 *
 * @typeParam R - the section's resolved options.
 */
export function capabilityProvider<T extends object, R>(
  token: abstract new (...args: never[]) => T,
  section: string,
  envHint: string,
  create: (options: R, ...deps: never[]) => T,
  inject: InjectionToken[] = [],
  fields: readonly (keyof T & string)[] = [],
): Provider {
  return {
    provide: token,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS, ...inject],
    useFactory: (resolved: ResolvedSections, ...deps: never[]) => {
      const options = resolvedSection<R>(resolved, section);
      return options
        ? create(options, ...deps)
        : notConfigured(
            token,
            `the '${section}' section is not configured. Pass JwtIssuerModule.forRoot({ ${section}: { … } }) or set ${envHint}.`,
            fields,
          );
    },
  };
}
