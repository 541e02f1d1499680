import type { Provider } from '@nestjs/common';
import { JwtIssuerTelemetry } from '../common/telemetry.js';
import { capabilityProvider } from '../config/capability-provider.js';
import type { ResolvedNatsUserJwtOptions } from './interfaces/nats-options.interface.js';
import { NatsUserJwtService } from './nats-user-jwt.service.js';

/** Providers of the 'nats' capability. */
export const NATS_PROVIDERS: Provider[] = [
  capabilityProvider(
    NatsUserJwtService,
    'nats',
    'JWT_ISSUER_NATS_ACCOUNT_ID and JWT_ISSUER_NATS_SIGNING_KEY',
    (options: ResolvedNatsUserJwtOptions, telemetry: JwtIssuerTelemetry) =>
      new NatsUserJwtService(options, telemetry),
    [JwtIssuerTelemetry],
  ),
];
