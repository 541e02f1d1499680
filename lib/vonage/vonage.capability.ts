import type { JwtIssuerCapability } from '../config/capability.interface.js';
import {
  type ResolvedVonageJwtOptions,
  VONAGE_OPTIONS,
} from './interfaces/vonage-options.interface.js';
import { VONAGE_ENV_VARS } from './vonage.env.js';
import { normalizeVonageJwtOptions } from './vonage.options.js';
import { VONAGE_PROVIDERS } from './vonage.providers.js';

/** Vonage Client SDK tokens: the `vonage` section, its variables, its validation and its providers. */
export const VONAGE_CAPABILITY: JwtIssuerCapability<
  'vonage',
  ResolvedVonageJwtOptions
> = {
  section: 'vonage',
  options: VONAGE_OPTIONS,
  envVars: VONAGE_ENV_VARS,
  normalize: normalizeVonageJwtOptions,
  providers: VONAGE_PROVIDERS,
  // The key is imported at start-up: once configured, the service can sign.
  health: {
    inject: [],
    report: () => ({
      status: 'up',
      signingKey: { status: 'up', algorithm: 'RS256' },
    }),
  },
};
