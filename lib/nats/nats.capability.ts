import type { JwtIssuerCapability } from '../config/capability.interface.js';
import {
  NATS_OPTIONS,
  type ResolvedNatsSection,
} from './interfaces/nats-options.interface.js';
import { NatsCalloutResponder } from './callout/nats-callout.responder.js';
import { NatsUserJwtService } from './nats-user-jwt.service.js';
import { NATS_ENV_VARS } from './nats.env.js';
import { natsHealth } from './nats.health.js';
import { normalizeNatsUserJwtOptions } from './nats.options.js';
import { NATS_PROVIDERS } from './nats.providers.js';

/** NATS user JWTs (ADR-14): the `nats` section, its variables, its validation and its providers. */
export const NATS_CAPABILITY: JwtIssuerCapability<'nats', ResolvedNatsSection> =
  {
    section: 'nats',
    options: NATS_OPTIONS,
    envVars: NATS_ENV_VARS,
    normalize: normalizeNatsUserJwtOptions,
    providers: NATS_PROVIDERS,
    describe: (s) =>
      s.callout
        ? `on (auth callout: ${s.callout.mode} mode, xkey ${s.callout.xkey ? 'on' : 'off'})`
        : 'on',
    health: {
      inject: [NatsUserJwtService, NatsCalloutResponder],
      report: natsHealth,
    },
  };
