import type { EnvVarSpec } from '../config/env-var.interface.js';

/** Environment variables of the 'vonage' section. */
export const VONAGE_ENV_VARS: readonly EnvVarSpec[] = [
  {
    env: 'JWT_ISSUER_VONAGE_APPLICATION_ID',
    path: 'vonage.applicationId',
    kind: 'string',
  },
  {
    env: 'JWT_ISSUER_VONAGE_PRIVATE_KEY',
    path: 'vonage.privateKey',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_VONAGE_DEFAULT_TTL',
    path: 'vonage.defaultTtl',
    kind: 'number',
  },
];
