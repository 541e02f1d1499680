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
];
