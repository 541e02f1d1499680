import type { Provider } from '@nestjs/common';
import { JwtIssuerTelemetry } from '../common/telemetry.js';
import { capabilityProvider } from '../config/capability-provider.js';
import type { ResolvedSealdJwtOptions } from './interfaces/seald-options.interface.js';
import { SealdJwtService } from './seald-jwt.service.js';

/** Providers of the 'seald' capability. */
export const SEALD_PROVIDERS: Provider[] = [
  capabilityProvider(
    SealdJwtService,
    'seald',
    'JWT_ISSUER_SEALD_SECRET_ID and JWT_ISSUER_SEALD_SECRET',
    (options: ResolvedSealdJwtOptions, telemetry: JwtIssuerTelemetry) =>
      new SealdJwtService(options, telemetry),
    [JwtIssuerTelemetry],
  ),
];
