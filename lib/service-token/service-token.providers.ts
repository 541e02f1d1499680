import type { Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { notConfigured } from '../common/not-configured.js';
import {
  JWT_ISSUER_INSTRUMENTS,
  JwtIssuerTelemetry,
} from '../common/telemetry.js';
import { capabilityProvider } from '../config/capability-provider.js';
import {
  type ResolvedSections,
  resolvedSection,
} from '../config/capability.interface.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../config/resolved-options.token.js';
import {
  SERVICE_TOKEN_VERIFIER_PORT,
  type ServiceTokenVerifierPort,
} from '../common/service-token-verifier.port.js';
import { ServiceTokenHandshake } from './verifying/service-token-handshake.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import type { ResolvedOAuth2Client } from './outgoing/oauth2/oauth2-client.interface.js';
import { OAuth2TokenClient } from './outgoing/oauth2/oauth2-token-client.js';
import { ServiceTokenJwksPublisher } from './issuing/service-token-jwks.publisher.js';
import { ServiceTokenLocator } from './verifying/service-token.locator.js';
import { ServiceTokenRefusalLog } from './verifying/service-token-refusal-log.js';
import { ServiceTokenService } from './issuing/service-token.service.js';
import { ServiceTokenVerifier } from './verifying/service-token.verifier.js';
import type { ResolvedServiceTokenSection } from './interfaces/service-token-options.interface.js';

const ENV_HINT =
  'JWT_ISSUER_SERVICE_TRUSTED_ISSUERS (to verify other services’ tokens) or JWT_ISSUER_SERVICE_NAME and JWT_ISSUER_SERVICE_ISSUER (to issue tokens; and JWT_ISSUER_SERVICE_PRIVATE_KEY in production)';

/** Why the service of a verify-only section cannot sign. */
const SIGNING_NOT_CONFIGURED =
  'this service only verifies service tokens: signing is not configured. Set JWT_ISSUER_SERVICE_NAME, JWT_ISSUER_SERVICE_ISSUER and JWT_ISSUER_SERVICE_PRIVATE_KEY (or service.name, service.issuer and service.privateKey) to issue tokens and publish a JWKS.';

/** Why the service of an OAuth 2.0 client without signing cannot sign. */
const SIGNING_NOT_CONFIGURED_OAUTH2 =
  'this service gets its outgoing token from its identity provider (service.oauth2) and does not sign tokens: only getToken() and authorizationHeader() are available. Set JWT_ISSUER_SERVICE_NAME, JWT_ISSUER_SERVICE_ISSUER and JWT_ISSUER_SERVICE_PRIVATE_KEY to sign tokens and publish a JWKS.';

/** The public instance fields of `ServiceTokenService`, which throw as its methods do when it cannot sign. */
const SERVICE_FIELDS = ['keyRing', 'lastRotationError'] as const;

/**
 * The `ServiceTokenService` of a section that gets its outgoing token from a token endpoint with a client secret and
 * signs nothing: `getToken()` and `authorizationHeader()` (so the fetch, axios and transport helpers) work; every
 * signing member throws `NOT_CONFIGURED`, as in a verify-only section.
 */
function oauth2OnlyService(options: ResolvedOAuth2Client): ServiceTokenService {
  const client = new OAuth2TokenClient(options, () => {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.NOT_CONFIGURED,
      'private_key_jwt needs a signing key',
    );
  });
  return Object.assign(
    notConfigured(
      ServiceTokenService,
      SIGNING_NOT_CONFIGURED_OAUTH2,
      SERVICE_FIELDS,
    ),
    {
      getToken: (destination?: string | URL) => client.token(destination),
      authorizationHeader: (destination?: string | URL) =>
        client.header(destination),
      onModuleInit: () => {
        // Fetched ahead, not awaited: the application starts even while its identity provider is down.
        client.token().catch(() => undefined); // logged by the client
      },
    },
  );
}

/** Providers of the `service` capability. */
export const SERVICE_TOKEN_PROVIDERS: Provider[] = [
  capabilityProvider(
    ServiceTokenService,
    'service',
    ENV_HINT,
    (s: ResolvedServiceTokenSection, telemetry: JwtIssuerTelemetry) =>
      s.signing
        ? new ServiceTokenService(s.signing, telemetry)
        : s.oauth2
          ? oauth2OnlyService(s.oauth2)
          : notConfigured(
              ServiceTokenService,
              SIGNING_NOT_CONFIGURED,
              SERVICE_FIELDS,
            ),
    [JwtIssuerTelemetry],
    SERVICE_FIELDS,
  ),
  capabilityProvider(
    ServiceTokenVerifier,
    'service',
    ENV_HINT,
    (
      s: ResolvedServiceTokenSection,
      service: ServiceTokenService,
      telemetry: JwtIssuerTelemetry,
    ) => {
      const verifier = new ServiceTokenVerifier(
        {
          // The verifying options of the section, as resolved.
          ...s,
          // A verify-only section has no keys of its own.
          localKeys: s.signing && s.acceptOwnTokens ? [service.keyRing] : [],
        },
        telemetry,
      );
      telemetry.gauge(
        JWT_ISSUER_INSTRUMENTS.cacheSize,
        () => verifier.cachedTokens,
      );
      return verifier;
    },
    [ServiceTokenService, JwtIssuerTelemetry],
    ['remoteSources'],
  ),
  {
    // The verifier as other capabilities see it (the NATS callout): only a configured section gives a usable one.
    provide: SERVICE_TOKEN_VERIFIER_PORT,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS, ServiceTokenVerifier],
    useFactory: (
      resolved: ResolvedSections,
      verifier: ServiceTokenVerifier,
    ): ServiceTokenVerifierPort | null => {
      const s = resolvedSection<ResolvedServiceTokenSection>(
        resolved,
        'service',
      );
      return s === undefined
        ? null
        : {
            verify: (token) => verifier.verify(token),
            expectedAudience: s.expectedAudience,
          };
    },
  },
  {
    // Always real (the defaults without a section): a guard refuses calls without a token even then.
    provide: ServiceTokenRefusalLog,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS, JwtIssuerTelemetry],
    useFactory: (resolved: ResolvedSections, telemetry: JwtIssuerTelemetry) => {
      const s = resolvedSection<ResolvedServiceTokenSection>(
        resolved,
        'service',
      );
      return new ServiceTokenRefusalLog(
        s?.refusalLogLines,
        s?.refusalLogWindow,
        telemetry,
      );
    },
  },
  // Where the guards and the handshake find a token (an application provides its own subclass to read elsewhere).
  ServiceTokenLocator,
  // For gateways: verifies WebSocket handshakes (it throws NOT_CONFIGURED at protect() without a verifier).
  ServiceTokenHandshake,
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
      // Only a service that issues tokens publishes keys.
      const s = resolvedSection<ResolvedServiceTokenSection>(
        resolved,
        'service',
      )?.signing;
      return s ? new ServiceTokenJwksPublisher(s, service, host) : {};
    },
  },
];
