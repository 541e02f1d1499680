import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';

// Properties Nest, promises and inspectors probe on any provider; they must not throw.
const PROBED = new Set<PropertyKey>([
  'then',
  'constructor',
  'toJSON',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * Stands in for a service whose configuration is absent: injecting it works (Nest creates every provider), but any
 * use throws `NOT_CONFIGURED`, `<service>.<member>: <reason>`; `reason` says what is missing and what to set.
 */
export function notConfigured<T extends object>(
  service: string,
  reason: string,
): T {
  return new Proxy(Object.create(null) as T, {
    get(_target, prop) {
      if (typeof prop === 'symbol' || PROBED.has(prop)) return undefined;
      throw new JwtIssuerError(
        JwtIssuerErrorCode.NOT_CONFIGURED,
        `${service}.${prop}: ${reason}`,
      );
    },
  });
}
