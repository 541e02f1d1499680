import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';

// Members Nest, promises and serializers probe on any provider: a service that is not configured has none of them,
// so Nest calls no lifecycle hook of it, `await` does not take it for a promise and JSON.stringify does not fail.
const PROBED = new Set<string>([
  'then',
  'toJSON',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * The instance of `type` for a capability that is off: injecting it works (Nest creates every provider) and it is an
 * `instanceof type`, made without running the constructor, but each of its members throws `NOT_CONFIGURED`,
 * `<Service>.<member>: <reason>`, where `reason` says what is missing and what to set. Methods throw when called (an
 * explorer that reads every method of every provider, as Nest's `DiscoveryService` users do, finds functions);
 * accessors, and the instance fields named in `fields` (a field is not on the prototype), throw when read.
 *
 * @param fields - the public instance fields of `type`.
 */
export function notConfigured<T extends object>(
  type: abstract new (...args: never[]) => T,
  reason: string,
  fields: readonly (keyof T & string)[] = [],
): T {
  const refusal = (member: string) =>
    new JwtIssuerError(
      JwtIssuerErrorCode.NOT_CONFIGURED,
      `${type.name}.${member}: ${reason}`,
    );
  const instance = Object.create(type.prototype as object) as T;
  const define = (name: string, descriptor: PropertyDescriptor) =>
    Object.defineProperty(instance, name, {
      configurable: true,
      enumerable: false,
      ...descriptor,
    });
  for (
    let proto = type.prototype as object | null;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || Object.hasOwn(instance, name)) continue;
      if (PROBED.has(name)) {
        define(name, { value: undefined, writable: true });
      } else if (
        typeof Object.getOwnPropertyDescriptor(proto, name)!.value ===
        'function'
      ) {
        // Named like the method it replaces, for stack traces.
        const method = {
          [name]() {
            throw refusal(name);
          },
        }[name];
        define(name, { value: method, writable: true });
      } else {
        define(name, {
          get() {
            throw refusal(name);
          },
        });
      }
    }
  }
  for (const name of fields) {
    define(name, {
      get() {
        throw refusal(name);
      },
    });
  }
  return instance;
}
