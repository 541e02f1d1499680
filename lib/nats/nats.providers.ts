import type { Provider } from '@nestjs/common';
import { notConfigured } from '../common/not-configured.js';
import type { ResolvedJwtIssuerOptions } from '../config/resolve-options.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../jwt-issuer.module-definition.js';
import { NatsUserJwtService } from './nats-user-jwt.service.js';

/** Providers of the 'nats' capability. */
export const NATS_PROVIDERS: Provider[] = [
  {
    provide: NatsUserJwtService,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS],
    useFactory: (o: ResolvedJwtIssuerOptions) =>
      o.nats
        ? new NatsUserJwtService(o.nats)
        : notConfigured<NatsUserJwtService>(
            'NatsUserJwtService',
            'nats',
            'JWT_ISSUER_NATS_ACCOUNT_ID and JWT_ISSUER_NATS_SIGNING_KEY',
          ),
  },
];
