import type { Provider } from '@nestjs/common';
import { JwtIssuerTelemetry } from '../common/telemetry.js';
import { capabilityProvider } from '../config/capability-provider.js';
import type { ResolvedVonageJwtOptions } from './interfaces/vonage-options.interface.js';
import { VonageJwtService } from './vonage-jwt.service.js';

/** Providers of the 'vonage' capability. */
export const VONAGE_PROVIDERS: Provider[] = [
  capabilityProvider(
    VonageJwtService,
    'vonage',
    'JWT_ISSUER_VONAGE_APPLICATION_ID and JWT_ISSUER_VONAGE_PRIVATE_KEY',
    (options: ResolvedVonageJwtOptions, telemetry: JwtIssuerTelemetry) =>
      new VonageJwtService(options, telemetry),
    [JwtIssuerTelemetry],
  ),
];
