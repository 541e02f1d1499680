import type { JwtIssuerCapability } from '../config/capability.interface.js';
import {
  type ResolvedServiceTokenSection,
  SERVICE_TOKEN_OPTIONS,
} from './interfaces/service-token-options.interface.js';
import { SERVICE_TOKEN_ENV_VARS } from './service-token.env.js';
import { serviceTokenHealth } from './service-token.health.js';
import { normalizeServiceTokenOptions } from './service-token.options.js';
import { SERVICE_TOKEN_PROVIDERS } from './service-token.providers.js';
import { ServiceTokenService } from './issuing/service-token.service.js';
import { ServiceTokenVerifier } from './verifying/service-token.verifier.js';

/**
 * Service-to-service tokens, their JWKS and the guard: the `service` section, its variables, its validation and its
 * providers. `require: ['service']` asks for a service that issues tokens (name, issuer, and a key in production);
 * `require: ['service.verify']` for one that at least verifies other services' tokens.
 */
export const SERVICE_TOKEN_CAPABILITY: JwtIssuerCapability<
  'service',
  ResolvedServiceTokenSection,
  'service' | 'service.verify'
> = {
  section: 'service',
  options: SERVICE_TOKEN_OPTIONS,
  envVars: SERVICE_TOKEN_ENV_VARS,
  normalize: normalizeServiceTokenOptions,
  providers: SERVICE_TOKEN_PROVIDERS,
  describe: (s) =>
    s.signing
      ? 'on'
      : s.oauth2
        ? 'on (OAuth 2.0 client, no signing)'
        : 'on (verify only)',
  health: {
    inject: [ServiceTokenService, ServiceTokenVerifier],
    report: serviceTokenHealth,
  },
  requirements: {
    service: (s, problems, context) => {
      // A section that already signs has passed its own checks; a verify-only one has no signing option at all.
      if (s?.signing) return;
      problems.add(
        'service',
        s
          ? "is required to issue tokens (require: ['service']) but only verifies; set (or require 'service.verify' instead):"
          : "is required (require: ['service']) but not configured; set (or require 'service.verify' for a service that only verifies):",
      );
      problems.add('service.name', 'is required');
      problems.add('service.issuer', 'is required');
      if (context.production) {
        problems.add(
          'service.privateKey',
          'is required when NODE_ENV is production',
        );
      }
    },
    'service.verify': (s, problems) => {
      if (s) return;
      problems.add(
        'service.trustedIssuers',
        "is required (require: ['service.verify']): the issuers whose tokens the guard accepts",
      );
    },
  },
};
