import type { Provider } from '@nestjs/common';
import { notConfigured } from '../common/not-configured.js';
import type { ResolvedJwtIssuerOptions } from '../config/resolve-options.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../jwt-issuer.module-definition.js';
import { SealdJwtService } from './seald-jwt.service.js';

/** Providers of the 'seald' capability. */
export const SEALD_PROVIDERS: Provider[] = [
  {
    provide: SealdJwtService,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS],
    useFactory: (o: ResolvedJwtIssuerOptions) =>
      o.seald
        ? new SealdJwtService(o.seald)
        : notConfigured<SealdJwtService>(
            'SealdJwtService',
            'seald',
            'JWT_ISSUER_SEALD_SECRET_ID and JWT_ISSUER_SEALD_SECRET',
          ),
  },
];
