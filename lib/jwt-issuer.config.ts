import { registerAs } from '@nestjs/config';
import { readJwtIssuerEnv } from './jwt-issuer.capabilities.js';
import type { JwtIssuerModuleOptions } from './interfaces/jwt-issuer-module-options.interface.js';

/**
 * The `jwtIssuer` configuration namespace, read from `JWT_ISSUER_*` environment variables (every one in docs/configuration.md).
 * The module reads it by itself; inject it with `@Inject(jwtIssuerConfig.KEY)`, or feed the module from it
 * explicitly with `JwtIssuerModule.forRootAsync(jwtIssuerConfig.asProvider())`.
 *
 * @example
 * imports: [ConfigModule.forRoot(), JwtIssuerModule.forRootAsync(jwtIssuerConfig.asProvider())]
 */
export const jwtIssuerConfig = registerAs(
  'jwtIssuer',
  (): JwtIssuerModuleOptions =>
    readJwtIssuerEnv(process.env) as JwtIssuerModuleOptions,
);
