import type { JwtIssuerCapability } from '../config/capability.interface.js';
import type { ResolvedServiceTokenOptions } from './interfaces/service-token-options.interface.js';
import { SERVICE_TOKEN_ENV_VARS } from './service-token.env.js';
import { normalizeServiceTokenOptions } from './service-token.options.js';
import { SERVICE_TOKEN_PROVIDERS } from './service-token.providers.js';

/** Service-to-service tokens, their JWKS and the guard: the `service` section, its variables, its validation and its providers. */
export const SERVICE_TOKEN_CAPABILITY: JwtIssuerCapability<
  'service',
  ResolvedServiceTokenOptions
> = {
  section: 'service',
  envVars: SERVICE_TOKEN_ENV_VARS,
  normalize: normalizeServiceTokenOptions,
  providers: SERVICE_TOKEN_PROVIDERS,
};
