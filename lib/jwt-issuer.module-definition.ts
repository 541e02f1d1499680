import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { JwtIssuerModuleOptions } from './interfaces/jwt-issuer-module-options.interface.js';
import type { JwtIssuerRequirement } from './jwt-issuer.capabilities.js';

/** Token of the capabilities the application declared it needs (internal). */
export const JWT_ISSUER_REQUIRED = Symbol('JWT_ISSUER_REQUIRED');

/** Options of `forRoot` / `forRootAsync` that shape the module itself rather than a capability. */
export interface JwtIssuerModuleExtras {
  /** Register the module globally (its services injectable everywhere). @default false */
  isGlobal?: boolean;
  /**
   * The capabilities this application needs. Any of them that the options and environment do not configure makes
   * the start fail with one `JwtIssuerConfigError` that lists every option and variable to set, in every
   * environment (development defaults, such as generated keys, only complete a section that is configured).
   * `'service'` asks for a service that issues tokens; `'service.verify'` for one that at least verifies them.
   * @default [] (every capability optional: an unconfigured one throws NOT_CONFIGURED when used)
   * @example
   * JwtIssuerModule.forRoot({ require: ['nats', 'service'] })
   */
  require?: readonly JwtIssuerRequirement[];
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: JWT_ISSUER_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<JwtIssuerModuleOptions>({
  moduleName: 'JwtIssuer',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createJwtIssuerOptions')
  .setExtras<JwtIssuerModuleExtras>(
    { isGlobal: false, require: [] },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      providers: [
        ...(definition.providers ?? []),
        { provide: JWT_ISSUER_REQUIRED, useValue: extras.require ?? [] },
      ],
    }),
  )
  .build();
