// Verifying: the checks of incoming calls. The verification engine (compact JWS, keys imported once, a cache of
// verified tokens), the keys of trusted issuers (remote JWKS, OpenID discovery), the service-token verifier, the
// guard and its decorators, the WebSocket handshake and each transport's reading of a call.
export {
  JwtVerifier,
  COMPACT_JWS,
  decodeSegment,
  parseObject,
  type IssuerClaimRules,
  type JwtVerifierOptions,
  type KeySource,
  type VerificationKey,
  type VerifiedClaims,
  type VerifyAlgorithm,
} from './jwt-verifier.js';
export {
  importVerificationJwk,
  DEFAULT_VERIFY_ALGORITHMS,
  MAX_RSA_MODULUS_BITS,
  VERIFY_ALGORITHMS,
  type ImportVerificationJwkOptions,
} from './verification-jwk.js';
export {
  RemoteJwksKeySource,
  type RemoteJwksOptions,
  type RemoteJwksState,
} from './remote-jwks.js';
export {
  ServiceTokenVerifier,
  type ServiceTokenVerifierOptions,
} from './service-token.verifier.js';
export {
  ServiceTokenGuard,
  type ServiceTokenGuardOptions,
} from './service-token.guard.js';
export {
  ServiceTokenHandshake,
  type ServiceTokenHandshakeRequest,
} from './service-token-handshake.js';
export {
  SkipServiceAuth,
  AllowServices,
  RequireScopes,
  ServiceClaims,
  type RequiredScopes,
  type ScopeRequirement,
  type ServiceCaller,
} from './service-token.decorators.js';
export {
  ServiceTokenLocator,
  type ServiceTokenCall,
} from './service-token.locator.js';
export { ServiceTokenRefusalLog } from './service-token-refusal-log.js';
export {
  SERVICE_CLAIMS_PROPERTY,
  SERVICE_TOKEN_CONTEXT_TYPES,
  type ServiceTokenContextType,
  type ServiceTokenRequest,
} from './transports/service-call.js';
export { WS_CLOSE_UNAUTHORIZED } from './transports/websocket.js';
