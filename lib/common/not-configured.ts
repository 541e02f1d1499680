import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';

// Properties Nest, promises and inspectors probe on any provider; they must not throw.
const PROBED = new Set<PropertyKey>([
  'then',
  'toJSON',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * Stands in for a service whose configuration section is absent: injecting it works (Nest creates every
 * provider), but any use throws `NOT_CONFIGURED` with the section and environment variables to set.
 */
export function notConfigured<T extends object>(
  service: string,
  section: string,
  envHint: string,
): T {
  return new Proxy(Object.create(null) as T, {
    get(_target, prop) {
      if (typeof prop === 'symbol' || PROBED.has(prop)) return undefined;
      // Explorers (e.g. @nestjs/graphql's) read metadata from every provider's constructor: it must be a function.
      if (prop === 'constructor') return Object;
      throw new JwtIssuerError(
        JwtIssuerErrorCode.NOT_CONFIGURED,
        `${service}.${prop}: the '${section}' section is not configured. Pass JwtIssuerModule.forRoot({ ${section}: { … } }) or set ${envHint}.`,
      );
    },
  });
}
