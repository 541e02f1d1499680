import type { Provider } from '@nestjs/common';
import { notConfigured } from '../common/not-configured.js';
import type { ResolvedJwtIssuerOptions } from '../config/resolve-options.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../jwt-issuer.module-definition.js';
import { VonageJwtService } from './vonage-jwt.service.js';

/** Providers of the 'vonage' capability. */
export const VONAGE_PROVIDERS: Provider[] = [
  {
    provide: VonageJwtService,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS],
    useFactory: (o: ResolvedJwtIssuerOptions) =>
      o.vonage
        ? new VonageJwtService(o.vonage)
        : notConfigured<VonageJwtService>(
            'VonageJwtService',
            'vonage',
            'JWT_ISSUER_VONAGE_APPLICATION_ID and JWT_ISSUER_VONAGE_PRIVATE_KEY',
          ),
  },
];
