import type { JwtIssuerCapability } from '../config/capability.interface.js';
import type { ResolvedNatsUserJwtOptions } from './interfaces/nats-options.interface.js';
import { NatsUserJwtService } from './nats-user-jwt.service.js';
import { NATS_ENV_VARS } from './nats.env.js';
import { natsHealth } from './nats.health.js';
import { normalizeNatsUserJwtOptions } from './nats.options.js';
import { NATS_PROVIDERS } from './nats.providers.js';

/** NATS user JWTs (ADR-14): the `nats` section, its variables, its validation and its providers. */
export const NATS_CAPABILITY: JwtIssuerCapability<
  'nats',
  ResolvedNatsUserJwtOptions
> = {
  section: 'nats',
  envVars: NATS_ENV_VARS,
  normalize: normalizeNatsUserJwtOptions,
  providers: NATS_PROVIDERS,
  // A further NATS part (e.g. a responder's connection) adds its provider to `inject` and its state to the report.
  health: { inject: [NatsUserJwtService], report: natsHealth },
};
