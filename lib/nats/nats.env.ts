import type { EnvVarSpec } from '../config/env-var.interface.js';

/** Environment variables of the 'nats' section. */
export const NATS_ENV_VARS: readonly EnvVarSpec[] = [
  { env: 'JWT_ISSUER_NATS_ACCOUNT_ID', path: 'nats.accountId', kind: 'string' },
  {
    env: 'JWT_ISSUER_NATS_SIGNING_KEY',
    path: 'nats.signingKey',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_NATS_EXPIRES_IN',
    path: 'nats.expiresIn',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_NATS_ACCOUNT_JWT',
    path: 'nats.accountJwt',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_MODE',
    path: 'nats.callout.mode',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_SERVERS',
    path: 'nats.callout.servers',
    kind: 'list',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_USER',
    path: 'nats.callout.user',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_PASS',
    path: 'nats.callout.pass',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_TOKEN',
    path: 'nats.callout.token',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_CREDS',
    path: 'nats.callout.creds',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_QUEUE',
    path: 'nats.callout.queue',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_ISSUER_KEY',
    path: 'nats.callout.issuerKey',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_XKEY',
    path: 'nats.callout.xkey',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_ACCOUNT',
    path: 'nats.callout.account',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_CALLOUT_ACCOUNT',
    path: 'nats.callout.calloutAccount',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_TIMEOUT',
    path: 'nats.callout.timeout',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_MAX_CONCURRENCY',
    path: 'nats.callout.maxConcurrency',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_MAX_PENDING',
    path: 'nats.callout.maxPending',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_MAX_EXPIRES_IN',
    path: 'nats.callout.maxExpiresIn',
    kind: 'number',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_AUTHORIZER',
    path: 'nats.callout.authorizer',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_AUDIENCE',
    path: 'nats.callout.audience',
    kind: 'list',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_TAG_CLAIMS',
    path: 'nats.callout.tagClaims',
    kind: 'list',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_PERMISSIONS',
    path: 'nats.callout.permissions',
    kind: 'json',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_EMPTY_ALLOW',
    path: 'nats.callout.emptyAllow',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_NATS_CALLOUT_USERS',
    path: 'nats.callout.users',
    kind: 'json',
    secret: true,
  },
];
