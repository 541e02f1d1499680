import type { NatsUserJwtOptions } from '../nats/interfaces/nats-options.interface.js';
import type { SealdJwtOptions } from '../seald/interfaces/seald-options.interface.js';
import type { ServiceTokenOptions } from '../service-token/interfaces/service-token-options.interface.js';
import type { VonageJwtOptions } from '../vonage/interfaces/vonage-options.interface.js';

/**
 * Options of {@link JwtIssuerModule}. Each capability has its own section; a capability whose section is absent
 * (from both these options and the environment) is not available. Explicit options override environment variables
 * key by key within a section.
 */
export interface JwtIssuerModuleOptions {
  /** NATS user JWTs signed with an account's (scoped) signing key (ADR-14). */
  nats?: NatsUserJwtOptions;
  /** Service-to-service tokens, their JWKS, and the guard that verifies them. */
  service?: ServiceTokenOptions;
  /** Seald SDK tokens (HS256). */
  seald?: SealdJwtOptions;
  /** Vonage Client SDK tokens (RS256). */
  vonage?: VonageJwtOptions;
  /**
   * Ignore `JWT_ISSUER_*` environment variables and use only these options.
   * @default false
   */
  ignoreEnvVars?: boolean;
}
