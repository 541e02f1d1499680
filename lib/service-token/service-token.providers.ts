import type { Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { capabilityProvider } from '../config/capability-provider.js';
import {
  type ResolvedSections,
  resolvedSection,
} from '../config/capability.interface.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../jwt-issuer.module-definition.js';
import { ServiceTokenJwksPublisher } from './service-token-jwks.publisher.js';
import { ServiceTokenService } from './service-token.service.js';
import { ServiceTokenVerifier } from './service-token.verifier.js';
import type { ResolvedServiceTokenOptions } from './interfaces/service-token-options.interface.js';

const ENV_HINT =
  'JWT_ISSUER_SERVICE_NAME and JWT_ISSUER_SERVICE_ISSUER (and JWT_ISSUER_SERVICE_PRIVATE_KEY in production)';

/** Providers of the `service` capability. */
export const SERVICE_TOKEN_PROVIDERS: Provider[] = [
  capabilityProvider(
    ServiceTokenService,
    'service',
    ENV_HINT,
    (s: ResolvedServiceTokenOptions) => new ServiceTokenService(s),
  ),
  capabilityProvider(
    ServiceTokenVerifier,
    'service',
    ENV_HINT,
    (s: ResolvedServiceTokenOptions, service: ServiceTokenService) =>
      new ServiceTokenVerifier({
        trustedIssuers: s.trustedIssuers,
        localKeys: s.acceptOwnTokens ? [service.keyRing] : [],
        expectedAudience: s.expectedAudience,
        clockTolerance: s.clockTolerance,
        maxTokenBytes: s.maxTokenBytes,
        verifiedCacheSize: s.verifiedCacheSize,
        jwksTimeout: s.jwksTimeout,
        jwksCooldown: s.jwksCooldown,
        jwksCacheMaxAge: s.jwksCacheMaxAge,
      }),
    [ServiceTokenService],
  ),
  {
    provide: ServiceTokenJwksPublisher,
    inject: [
      JWT_ISSUER_RESOLVED_OPTIONS,
      ServiceTokenService,
      { token: HttpAdapterHost, optional: true },
    ],
    useFactory: (
      resolved: ResolvedSections,
      service: ServiceTokenService,
      host: HttpAdapterHost | undefined,
    ) => {
      const s = resolvedSection<ResolvedServiceTokenOptions>(
        resolved,
        'service',
      );
      return s ? new ServiceTokenJwksPublisher(s, service, host) : {};
    },
  },
];
