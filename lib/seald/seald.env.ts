import type { EnvVarSpec } from '../config/env-var.interface.js';

/** Environment variables of the 'seald' section. */
export const SEALD_ENV_VARS: readonly EnvVarSpec[] = [
  { env: 'JWT_ISSUER_SEALD_SECRET_ID', path: 'seald.secretId', kind: 'string' },
  {
    env: 'JWT_ISSUER_SEALD_SECRET',
    path: 'seald.secret',
    kind: 'string',
    secret: true,
  },
  {
    env: 'JWT_ISSUER_SEALD_PERMISSIONS',
    path: 'seald.permissions',
    kind: 'list',
  },
  { env: 'JWT_ISSUER_SEALD_APP_ID', path: 'seald.appId', kind: 'string' },
];
