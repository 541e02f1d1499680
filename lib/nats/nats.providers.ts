import type { Provider } from '@nestjs/common';
import { JwtIssuerTelemetry } from '../common/telemetry.js';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { notConfigured } from '../common/not-configured.js';
import {
  type ResolvedSections,
  resolvedSection,
} from '../config/capability.interface.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../config/resolved-options.token.js';
import {
  SERVICE_TOKEN_VERIFIER_PORT,
  type ServiceTokenVerifierPort,
} from '../common/service-token-verifier.port.js';
import { NatsCalloutResponder } from './callout/nats-callout.responder.js';
import type { ResolvedNatsSection } from './interfaces/nats-options.interface.js';
import { NatsUserJwtService } from './nats-user-jwt.service.js';

const ENV_HINT = 'JWT_ISSUER_NATS_ACCOUNT_ID and JWT_ISSUER_NATS_SIGNING_KEY';

/** Providers of the 'nats' capability. */
export const NATS_PROVIDERS: Provider[] = [
  {
    provide: NatsUserJwtService,
    inject: [JWT_ISSUER_RESOLVED_OPTIONS, JwtIssuerTelemetry],
    useFactory: (resolved: ResolvedSections, telemetry: JwtIssuerTelemetry) => {
      const s = resolvedSection<ResolvedNatsSection>(resolved, 'nats');
      return s?.signingKey
        ? new NatsUserJwtService(s, telemetry)
        : notConfigured(
            NatsUserJwtService,
            s
              ? `the 'nats' section configures only the auth callout (config mode): set nats.accountId and nats.signingKey (${ENV_HINT}) to issue ADR-14 user JWTs.`
              : `the 'nats' section is not configured. Pass JwtIssuerModule.forRoot({ nats: { … } }) or set ${ENV_HINT}.`,
            [
              'accountId',
              'signingPublicKey',
              'signingKeyScope',
              'scopeTemplate',
              'scopeRole',
              'accountJwtExpiresAt',
              'accountJwtConfigured',
            ],
          );
    },
  },
  {
    provide: NatsCalloutResponder,
    inject: [
      JWT_ISSUER_RESOLVED_OPTIONS,
      ModuleRef,
      DiscoveryService,
      MetadataScanner,
      { token: SERVICE_TOKEN_VERIFIER_PORT, optional: true },
      JwtIssuerTelemetry,
    ],
    useFactory: (
      resolved: ResolvedSections,
      moduleRef: ModuleRef,
      discovery: DiscoveryService,
      scanner: MetadataScanner,
      verifier: ServiceTokenVerifierPort | null | undefined,
      telemetry: JwtIssuerTelemetry,
    ) => {
      const callout = resolvedSection<ResolvedNatsSection>(
        resolved,
        'nats',
      )?.callout;
      if (!callout) {
        return notConfigured(
          NatsCalloutResponder,
          'the auth callout is not configured: set nats.callout (JWT_ISSUER_NATS_CALLOUT_SERVERS, …) to run a responder.',
          ['options'],
        );
      }
      return new NatsCalloutResponder(callout, {
        moduleRef,
        discovery,
        scanner,
        telemetry,
        // Only a 'service' section that verifies gives a verifier (the service-token capability provides null otherwise).
        verifier: verifier ?? undefined,
        verifierAudience: verifier?.expectedAudience,
      });
    },
  },
];
