import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { JwtIssuerModuleOptions } from './interfaces/jwt-issuer-module-options.interface.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  JWT_ISSUER_MODULE_OPTIONS,
  JWT_ISSUER_REQUIRED,
  OPTIONS_TYPE,
} from './jwt-issuer.module-definition.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from './config/resolved-options.token.js';
import {
  JWT_ISSUER_CAPABILITIES,
  type JwtIssuerRequirement,
  resolveJwtIssuerOptions,
} from './jwt-issuer.capabilities.js';
import { jwtIssuerConfig } from './jwt-issuer.config.js';
import { isPlainObject } from './common/is-plain-object.js';
import { JwtIssuerTelemetry } from './common/telemetry.js';
import { healthReportersProvider } from './config/capability-health.js';
import { JwtIssuerHealthIndicator } from './health/jwt-issuer-health.indicator.js';

/**
 * The provider of the resolved options: the explicit options (with `patch` merged over them, section by section,
 * key by key) over the environment's. The module uses it without a patch; `nest-jwt-issuer/testing` overrides the
 * provider with a patch, so a test points an application at test issuers without editing its module (internal).
 */
export function resolvedOptionsProvider(
  patch?: JwtIssuerModuleOptions,
): Provider & { provide: symbol } {
  return {
    provide: JWT_ISSUER_RESOLVED_OPTIONS,
    inject: [
      JWT_ISSUER_MODULE_OPTIONS,
      jwtIssuerConfig.KEY,
      JWT_ISSUER_REQUIRED,
    ],
    useFactory: (
      explicit: JwtIssuerModuleOptions | undefined,
      fromEnv: JwtIssuerModuleOptions,
      required: readonly JwtIssuerRequirement[],
    ) =>
      resolveJwtIssuerOptions(
        patch ? mergeSections(explicit, patch) : explicit,
        fromEnv,
        undefined,
        {
          required,
          // The variables `jwtIssuerConfig` read (`ConfigModule.forRoot` puts a `.env` file's variables there too).
          environment: process.env,
        },
      ),
  };
}

/** `patch` over `base`: a section that is an object on both sides is merged key by key; anything else is replaced. */
function mergeSections(
  base: JwtIssuerModuleOptions | undefined,
  patch: JwtIssuerModuleOptions,
): JwtIssuerModuleOptions {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const before = out[key];
    out[key] =
      isPlainObject(before) && isPlainObject(value)
        ? { ...before, ...value }
        : value;
  }
  return out as JwtIssuerModuleOptions;
}

// The environment, read as the `jwtIssuer` namespace reads it. A provider of the module rather than
// `ConfigModule.forFeature(jwtIssuerConfig)`: that import made a second ConfigModule instance, logged at every start
// (`ConfigModule dependencies initialized` twice), for nothing the module needs (`ConfigModule.forRoot`, when the app
// has one, has put a .env file's variables in process.env before any provider is built).
const envOptionsProvider: Provider = {
  provide: jwtIssuerConfig.KEY,
  useFactory: () => jwtIssuerConfig(),
};

const featureProviders: Provider[] = JWT_ISSUER_CAPABILITIES.flatMap((c) => [
  ...c.providers,
]);

/**
 * Issues and verifies the JWTs a backend hands to other systems. Each capability is configured in its own section
 * (`nats`, `service`, `seald`, `vonage`), from these options and/or `JWT_ISSUER_*` environment variables read
 * through `@nestjs/config`. Options are validated once at bootstrap; every problem is reported in one error.
 * Declare the capabilities the application needs with `require` (see {@link JwtIssuerModuleExtras.require}): a
 * start without them is then an error listing every variable to set, instead of a service that answers 503.
 *
 * @example
 * // Everything from the environment; the start fails unless NATS and service tokens are configured:
 * imports: [ConfigModule.forRoot(), JwtIssuerModule.forRoot({ require: ['nats', 'service'] })]
 * // Explicit options (override the environment key by key):
 * imports: [JwtIssuerModule.forRoot({ nats: { accountId, signingKey }, isGlobal: true })]
 * // Async:
 * imports: [JwtIssuerModule.forRootAsync({ inject: [ConfigService], useFactory: (c: ConfigService) => ({ … }) })]
 */
@Module({
  // DiscoveryModule: the NATS auth callout finds the method marked @NatsAuthCallout().
  imports: [DiscoveryModule],
  providers: [
    envOptionsProvider,
    resolvedOptionsProvider(),
    JwtIssuerTelemetry,
    healthReportersProvider(JWT_ISSUER_CAPABILITIES),
    JwtIssuerHealthIndicator,
    ...featureProviders,
  ],
  exports: [
    JwtIssuerHealthIndicator,
    ...featureProviders.map((p) => (typeof p === 'function' ? p : p.provide)),
  ],
})
export class JwtIssuerModule extends ConfigurableModuleClass {
  /**
   * Registers the module with explicit options (merged over the environment); with none, env only. Also takes
   * `isGlobal` and `require` ({@link JwtIssuerModuleExtras}).
   */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Registers the module with options produced by a factory, class or existing provider; `isGlobal` and `require`
   * go beside `useFactory` (they shape the module, so they cannot come from the factory).
   */
  static override forRootAsync(
    options: typeof ASYNC_OPTIONS_TYPE,
  ): DynamicModule {
    return super.forRootAsync(options);
  }
}
