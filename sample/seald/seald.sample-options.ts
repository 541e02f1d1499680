import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { SealdJwtOptions } from '../../lib/index.js';

/** The JWTSecretId the development defaults use (Seald's servers know no such secret). */
export const DEV_SEALD_SECRET_ID = '00000000-0000-4000-8000-00000000dev0';
/** The Seald app id the development defaults use. */
export const DEV_SEALD_APP_ID = 'dev-seald-app';

/**
 * Development defaults of the 'seald' section for the sample: `undefined` when any `JWT_ISSUER_SEALD_*` variable
 * is set (not empty) (the environment is used as is), `{}` in production (so the module reports what is missing), otherwise a
 * freshly generated secret under a fixed development secret id, announced loudly.
 */
export async function sealdSampleOptions(): Promise<
  SealdJwtOptions | undefined
> {
  if (
    Object.entries(process.env).some(
      ([k, v]) =>
        k.startsWith('JWT_ISSUER_SEALD_') && v !== undefined && v !== '',
    )
  ) {
    return undefined;
  }
  if (process.env.NODE_ENV === 'production') return {};
  new Logger('SealdSample').warn(
    `DEVELOPMENT ONLY: no JWT_ISSUER_SEALD_* variables, so Seald tokens are signed with a random secret generated at start-up (secret id ${DEV_SEALD_SECRET_ID}, app id ${DEV_SEALD_APP_ID}). Seald will refuse them; set JWT_ISSUER_SEALD_SECRET_ID and JWT_ISSUER_SEALD_SECRET.`,
  );
  return {
    secretId: DEV_SEALD_SECRET_ID,
    secret: randomBytes(48).toString('base64url'),
    appId: DEV_SEALD_APP_ID,
  };
}
