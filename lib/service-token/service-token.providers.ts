import type { Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { notConfigured } from '../common/not-configured.js';
import type { ResolvedJwtIssuerOptions } from '../config/resolve-options.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../jwt-issuer.module-definition.js';
import { ServiceTokenJwksPublisher } from './service-token-jwks.publisher.js';
import { ServiceTokenService } from './service-token.service.js';
import { ServiceTokenVerifier } from './service-token.verifier.js';

const ENV_HINT =
  'JWT_ISSUER_SERVICE_NAME and JWT_ISSUER_SERVICE_ISSUER (and JWT_ISSUER_SERVICE_PRIVATE_KEY in production)';

/** Providers of the `service` capability. */
export const SERVICE_TOKEN_PROVIDERS: Provider[] = [
  {
    provide: ServiceTokenService,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS],
    useFactory: (o: ResolvedJwtIssuerOptions) =>
      o.service
        ? new ServiceTokenService(o.service)
        : notConfigured<ServiceTokenService>(
            'ServiceTokenService',
            'service',
            ENV_HINT,
          ),
  },
  {
    provide: ServiceTokenVerifier,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS, ServiceTokenService],
    useFactory: (o: ResolvedJwtIssuerOptions, service: ServiceTokenService) => {
      const s = o.service;
      if (!s) {
        return notConfigured<ServiceTokenVerifier>(
          'ServiceTokenVerifier',
          'service',
          ENV_HINT,
        );
      }
      return new ServiceTokenVerifier({
        trustedIssuers: s.trustedIssuers,
        localKeys: s.acceptOwnTokens ? [service.keyRing] : [],
        expectedAudience: s.expectedAudience,
        clockTolerance: s.clockTolerance,
        maxTokenBytes: s.maxTokenBytes,
        verifiedCacheSize: s.verifiedCacheSize,
        jwksTimeout: s.jwksTimeout,
        jwksCooldown: s.jwksCooldown,
        jwksCacheMaxAge: s.jwksCacheMaxAge,
      });
    },
  },
  {
    provide: ServiceTokenJwksPublisher,
    inject: [
      JWT_ISSUER_RESOLVED_OPTIONS,
      ServiceTokenService,
      { token: HttpAdapterHost, optional: true },
    ],
    useFactory: (
      o: ResolvedJwtIssuerOptions,
      service: ServiceTokenService,
      host: HttpAdapterHost | undefined,
    ) =>
      o.service ? new ServiceTokenJwksPublisher(o.service, service, host) : {},
  },
];
