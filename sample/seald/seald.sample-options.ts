import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { SealdJwtOptions } from '../../lib/index.js';
import { keepDevFile, shownPath } from '../dev-files.js';

/** The JWTSecretId the development defaults use (Seald's servers know no such secret). */
export const DEV_SEALD_SECRET_ID = '00000000-0000-4000-8000-00000000dev0';
/** The Seald app id the development defaults use. */
export const DEV_SEALD_APP_ID = 'dev-seald-app';

/**
 * Development defaults of the 'seald' section for the sample: `undefined` when any `JWT_ISSUER_SEALD_*` variable
 * is set (not empty) (the environment is used as is), `{}` in production (so the module reports what is missing), otherwise a
 * development secret under a fixed development secret id, generated at the first start and kept in
 * `sample/.dev/seald-secret.txt` (mode 0600; the CLI's `token seald --secret` reads it), announced loudly.
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
  const secret = keepDevFile(
    'seald-secret.txt',
    () => `${randomBytes(48).toString('base64url')}\n`,
  );
  new Logger('SealdSample').warn(
    `DEVELOPMENT ONLY: no JWT_ISSUER_SEALD_* variables, so Seald tokens are signed with a development secret ${secret.created ? 'generated now' : 'reused'} (${shownPath(secret.path)}, mode 0600; secret id ${DEV_SEALD_SECRET_ID}, app id ${DEV_SEALD_APP_ID}). Seald will refuse them; set JWT_ISSUER_SEALD_SECRET_ID and JWT_ISSUER_SEALD_SECRET.`,
  );
  return {
    secretId: DEV_SEALD_SECRET_ID,
    secret: secret.text.trim(),
    appId: DEV_SEALD_APP_ID,
  };
}
