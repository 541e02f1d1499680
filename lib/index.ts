export { JwtIssuerModule } from './jwt-issuer.module.js';
export { jwtIssuerConfig } from './jwt-issuer.config.js';
export type { JwtIssuerModuleOptions } from './interfaces/jwt-issuer-module-options.interface.js';
export {
  JwtIssuerError,
  JwtIssuerConfigError,
  JwtIssuerErrorCode,
  type ConfigProblem,
} from './errors.js';
export { JWT_ISSUER_ENV_VARS } from './config/env.js';
export type { EnvVarSpec, EnvVarKind } from './config/env-var.interface.js';
export type { JwsAlgorithm } from './common/jws-signer.js';
export type { PrivateKeyInput } from './common/keys.js';

// --- nats ---

// --- end nats ---

// --- service-token ---
export { ServiceTokenService } from './service-token/service-token.service.js';
export type {
  CreateJwtOptions,
  ServiceOpenIdConfiguration,
} from './service-token/service-token.service.js';
export type { PublishedJwk } from './service-token/service-token-key-ring.js';
export {
  ServiceTokenGuard,
  type ServiceTokenRequest,
} from './service-token/service-token.guard.js';
export {
  ServiceTokenVerifier,
  type ServiceTokenVerifierOptions,
} from './service-token/service-token.verifier.js';
export {
  SkipServiceAuth,
  ServiceClaims,
  SERVICE_CLAIMS_PROPERTY,
} from './service-token/service-token.decorators.js';
export type {
  ServiceTokenOptions,
  ServiceTokenAlgorithm,
  ServiceTokenClaims,
  TrustedIssuerOptions,
} from './service-token/interfaces/service-token-options.interface.js';
export {
  JwtVerifier,
  importVerificationJwk,
  type JwtVerifierOptions,
  type KeySource,
  type VerificationKey,
  type VerifiedClaims,
  type VerifyAlgorithm,
} from './common/jwt-verifier.js';
export {
  RemoteJwksKeySource,
  type RemoteJwksOptions,
} from './common/remote-jwks.js';

// --- end service-token ---

// --- seald ---

// --- end seald ---

// --- vonage ---

// --- end vonage ---
