import type { EnvVarSpec } from '../config/env-var.interface.js';

/** Environment variables of the `service` section (one per option). */
export const SERVICE_TOKEN_ENV_VARS: readonly EnvVarSpec[] = [
  { env: 'JWT_ISSUER_SERVICE_NAME', path: 'service.name', kind: 'string' },
  { env: 'JWT_ISSUER_SERVICE_ISSUER', path: 'service.issuer', kind: 'string' },
  {
    env: 'JWT_ISSUER_SERVICE_AUDIENCE',
    path: 'service.audience',
    kind: 'list',
  },
  {
    env: 'JWT_ISSUER_SERVICE_EXPECTED_AUDIENCE',
    path: 'service.expectedAudience',
    kind: 'list',
  },
  {
    env: 'JWT_ISSUER_SERVICE_ALGORITHM',
    path: 'service.algorithm',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_SERVICE_PRIVATE_KEY',
    path: 'service.privateKey',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_SERVICE_TOKEN_VALIDITY',
    path: 'service.tokenValidity',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_ROTATION_INTERVAL',
    path: 'service.rotationInterval',
    kind: 'number',
  },
  {
    // A URL may carry a password: never echoed.
    env: 'JWT_ISSUER_SERVICE_KEY_STORE',
    path: 'service.keyStore',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_SERVICE_PUBLISH_JWKS',
    path: 'service.publishJwks',
    kind: 'boolean',
  },
  {
    env: 'JWT_ISSUER_SERVICE_JWKS_PATH',
    path: 'service.jwksPath',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OPENID_CONFIGURATION_PATH',
    path: 'service.openidConfigurationPath',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_SERVICE_TRUSTED_ISSUERS',
    path: 'service.trustedIssuers',
    kind: 'json',
  },
  {
    env: 'JWT_ISSUER_SERVICE_ACCEPT_OWN_TOKENS',
    path: 'service.acceptOwnTokens',
    kind: 'boolean',
  },
  {
    env: 'JWT_ISSUER_SERVICE_CLOCK_TOLERANCE',
    path: 'service.clockTolerance',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_MAX_TOKEN_BYTES',
    path: 'service.maxTokenBytes',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_VERIFIED_CACHE_SIZE',
    path: 'service.verifiedCacheSize',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_JWKS_TIMEOUT',
    path: 'service.jwksTimeout',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_JWKS_COOLDOWN',
    path: 'service.jwksCooldown',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_JWKS_CACHE_MAX_AGE',
    path: 'service.jwksCacheMaxAge',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_JWKS_KEY_GRACE_PERIOD',
    path: 'service.jwksKeyGracePeriod',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_REFUSAL_LOG_LINES',
    path: 'service.refusalLogLines',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_REFUSAL_LOG_WINDOW',
    path: 'service.refusalLogWindow',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_ISSUER',
    path: 'service.oauth2.issuer',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_TOKEN_ENDPOINT',
    path: 'service.oauth2.tokenEndpoint',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_CLIENT_ID',
    path: 'service.oauth2.clientId',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_CLIENT_SECRET',
    path: 'service.oauth2.clientSecret',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_CLIENT_AUTH',
    path: 'service.oauth2.clientAuth',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_SCOPE',
    path: 'service.oauth2.scope',
    kind: 'list',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_RESOURCE',
    path: 'service.oauth2.resource',
    kind: 'list',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_AUDIENCE',
    path: 'service.oauth2.audience',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_DESTINATIONS',
    path: 'service.oauth2.destinations',
    kind: 'json',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_TIMEOUT',
    path: 'service.oauth2.timeout',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_SERVICE_OAUTH2_ALLOW_HTTP',
    path: 'service.oauth2.allowHttp',
    kind: 'boolean',
  },
];
