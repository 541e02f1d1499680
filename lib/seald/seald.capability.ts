import type { JwtIssuerCapability } from '../config/capability.interface.js';
import {
  type ResolvedSealdJwtOptions,
  SEALD_OPTIONS,
} from './interfaces/seald-options.interface.js';
import { SEALD_ENV_VARS } from './seald.env.js';
import { normalizeSealdJwtOptions } from './seald.options.js';
import { SEALD_PROVIDERS } from './seald.providers.js';

/** Seald SDK tokens: the `seald` section, its variables, its validation and its providers. */
export const SEALD_CAPABILITY: JwtIssuerCapability<
  'seald',
  ResolvedSealdJwtOptions
> = {
  section: 'seald',
  options: SEALD_OPTIONS,
  envVars: SEALD_ENV_VARS,
  normalize: normalizeSealdJwtOptions,
  providers: SEALD_PROVIDERS,
  // The key is imported at start-up: once configured, the service can sign.
  health: {
    inject: [],
    report: () => ({
      status: 'up',
      signingKey: { status: 'up', algorithm: 'HS256' },
    }),
  },
};
