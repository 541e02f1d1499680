// nest-jwt-issuer/testing: helpers for the tests of services that use nest-jwt-issuer. Not imported by the main
// entry point; depends on no test framework.
export {
  TestIssuer,
  testIssuersEnv,
  BAD_TOKEN_KINDS,
  UNTRUSTED_ISSUER,
  WRONG_AUDIENCE,
  type BadTokenKind,
  type TestIssuerOptions,
  type TestIssuerRotateOptions,
  type TestTokenOptions,
} from './test-issuer.js';
export {
  overrideJwtIssuerOptions,
  trustTestIssuers,
  type OverridableTestingModule,
} from './nest-overrides.js';
export {
  decodeNatsUserJwt,
  MAX_NATS_JWT_BYTES,
  type DecodeNatsUserJwtOptions,
  type DecodedNatsUserClaims,
  type DecodedNatsUserJwt,
  type DecodedNatsUserSection,
} from './decode-nats-user-jwt.js';
export { createNatsDevelopmentAccount } from '../nats/nats-development.js';
export type {
  PublishedJwk,
  ServiceTokenSource,
} from '../service-token/index.js';
