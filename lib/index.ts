// Side effect: warns if the ESM and CommonJS builds of this package both load (see docs/compatibility.md, the dual-package hazard).
import './dual-package-guard.js';
export { JwtIssuerModule } from './jwt-issuer.module.js';
export { jwtIssuerConfig } from './jwt-issuer.config.js';
export type { JwtIssuerModuleOptions } from './interfaces/jwt-issuer-module-options.interface.js';
export {
  JwtIssuerError,
  JwtIssuerConfigError,
  JwtIssuerScopeError,
  JwtIssuerErrorCode,
  type ConfigProblem,
} from './errors.js';
export {
  JwtIssuerExceptionFilter,
  type JwtIssuerErrorBody,
} from './jwt-issuer-exception.filter.js';
export {
  JWT_ISSUER_ENV_VARS,
  type JwtIssuerRequirement,
} from './jwt-issuer.capabilities.js';
export type { JwtIssuerModuleExtras } from './jwt-issuer.module-definition.js';
export type { EnvVarSpec, EnvVarKind } from './config/env-var.interface.js';
export type { JwsAlgorithm } from './common/jws-signer.js';
export {
  JwtIssuerHealthIndicator,
  type JwtIssuerHealthReport,
  type JwtIssuerHealthIndicatorResult,
} from './health/jwt-issuer-health.indicator.js';
export type {
  JwtIssuerHealthPart,
  JwtIssuerHealthStatus,
} from './common/health.js';
export type { PrivateKeyInput } from './common/keys.js';

// --- nats ---
export { issueUserJwt, formatUserCreds } from './nats/issue-user-jwt.js';
export type { NatsSigningKeyScope } from './nats/interfaces/nats-account.interface.js';
export { NatsUserJwtService } from './nats/nats-user-jwt.service.js';
export { createNatsDevelopmentAccount } from './nats/nats-development.js';
export {
  NatsCalloutResponder,
  AUTH_CALLOUT_SUBJECT,
} from './nats/callout/nats-callout.responder.js';
export {
  NatsAuthCallout,
  ServiceTokenCalloutAuthorizer,
  PasswordCalloutAuthorizer,
} from './nats/callout/callout-authorizers.js';
export { redactNatsAuthRequest } from './nats/callout/callout-request.js';
export type {
  NatsCalloutOptions,
  NatsCalloutAccount,
} from './nats/interfaces/nats-callout-options.interface.js';
export type {
  NatsAuthRequest,
  NatsAuthServer,
  NatsAuthClientInfo,
  NatsAuthConnectOptions,
  NatsAuthClientTls,
  NatsAuthDecision,
  NatsAuthDecisionResult,
  NatsAuthAllow,
  NatsAuthDeny,
  NatsAuthorizer,
  NatsCalloutStats,
} from './nats/interfaces/nats-callout.interface.js';
export type { NatsUserJwtOptions } from './nats/interfaces/nats-options.interface.js';
export type {
  NatsDevelopmentAccount,
  NatsDevelopmentAccountOptions,
  NatsDevelopmentKey,
  NatsPermissionJson,
  NatsScopeTemplate,
  NatsServerConfigOptions,
} from './nats/interfaces/nats-account.interface.js';
export type {
  IssueUserJwtOptions,
  NatsConnectionType,
  NatsCreateUserOptions,
  NatsIssueUserJwtOptions,
  NatsPermission,
  NatsResponsePermission,
  NatsTemplateValue,
  NatsTimeRange,
  NatsUserClaimsOptions,
  NatsUserCredentials,
  NatsUserLimits,
  NatsUserPermissions,
} from './nats/interfaces/nats-user-jwt.interface.js';

// --- end nats ---

// --- service-token ---
// Options and claims
export type {
  ServiceTokenOptions,
  ServiceTokenAlgorithm,
  ServiceTokenClaims,
  TrustedIssuerOptions,
  TrustedIssuerProfile,
} from './service-token/index.js';
// Issuing
export {
  ServiceTokenService,
  RedisServiceTokenKeyStore,
  type CreateJwtOptions,
  type ServiceOpenIdConfiguration,
  type PublishedJwk,
  type ServiceTokenKeyStore,
  type RedisHashCommands,
} from './service-token/index.js';
// Verifying
export {
  ServiceTokenGuard,
  ServiceTokenHandshake,
  ServiceTokenLocator,
  ServiceTokenVerifier,
  SkipServiceAuth,
  AllowServices,
  RequireScopes,
  ServiceClaims,
  SERVICE_CLAIMS_PROPERTY,
  JwtVerifier,
  importVerificationJwk,
  RemoteJwksKeySource,
  type ServiceTokenGuardOptions,
  type ServiceTokenContextType,
  type ServiceTokenRequest,
  type ServiceTokenHandshakeRequest,
  type ServiceTokenCall,
  type ServiceTokenVerifierOptions,
  type RequiredScopes,
  type ScopeRequirement,
  type ServiceCaller,
  type IssuerClaimRules,
  type JwtVerifierOptions,
  type KeySource,
  type VerificationKey,
  type VerifiedClaims,
  type VerifyAlgorithm,
  type ImportVerificationJwkOptions,
  type RemoteJwksOptions,
} from './service-token/index.js';
// Outgoing
export {
  withServiceToken,
  createServiceTokenFetch,
  useServiceTokenInterceptor,
  InternalDestinations,
  type HeaderCarrier,
  type ServiceTokenSource,
  type ServiceTokenClientOptions,
  type AxiosLike,
  type AxiosRequestConfigLike,
  type OAuth2ClientAuthMethod,
  type OAuth2DestinationOptions,
  type OAuth2TokenRequestOptions,
  type ServiceOAuth2ClientOptions,
} from './service-token/index.js';

// --- end service-token ---

// --- seald ---
export { SealdJwtService } from './seald/seald-jwt.service.js';
export {
  SealdPermission,
  type SealdJwtOptions,
  type SealdTokenOptions,
  type SealdSignupTokenOptions,
  type SealdAnonymousTokenOptions,
  type SealdTokenClaims,
  type SealdConnector,
} from './seald/interfaces/seald-options.interface.js';
// --- end seald ---

// --- vonage ---
export { VonageJwtService } from './vonage/vonage-jwt.service.js';
export {
  vonageAcl,
  VONAGE_ACL_PATHS,
  type VonageAclPathName,
  type VonageAclSelection,
} from './vonage/vonage-acl.js';
export type {
  VonageJwtOptions,
  VonageTokenOptions,
  VonageTokenClaims,
  VonageAcl,
  VonageAclRule,
  VonageAclMethod,
} from './vonage/interfaces/vonage-options.interface.js';
// --- end vonage ---
