import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { JwtIssuerModuleOptions } from './interfaces/jwt-issuer-module-options.interface.js';

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
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/** Token of the validated, normalized options (internal). */
export const JWT_ISSUER_RESOLVED_OPTIONS = Symbol(
  'JWT_ISSUER_RESOLVED_OPTIONS',
);
