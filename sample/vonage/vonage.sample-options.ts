import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { VonageJwtOptions } from '../../lib/index.js';
import { keepDevFile, shownPath } from '../dev-files.js';

/** The application id the development defaults use (Vonage knows no such application). */
export const DEV_VONAGE_APPLICATION_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-00000000dev0';

/**
 * Development defaults of the 'vonage' section for the sample: `undefined` when any `JWT_ISSUER_VONAGE_*` variable
 * is set (not empty) (the environment is used as is), `{}` in production (so the module reports what is missing), otherwise an
 * RSA-2048 key generated at the first start and kept in `sample/.dev/vonage-key.pem` (mode 0600; the CLI's
 * `token vonage --key` reads it) and a development application id, announced loudly.
 */
export async function vonageSampleOptions(): Promise<
  VonageJwtOptions | undefined
> {
  if (
    Object.entries(process.env).some(
      ([k, v]) =>
        k.startsWith('JWT_ISSUER_VONAGE_') && v !== undefined && v !== '',
    )
  ) {
    return undefined;
  }
  if (process.env.NODE_ENV === 'production') return {};
  const key = keepDevFile(
    'vonage-key.pem',
    () =>
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        format: 'pem',
        type: 'pkcs8',
      }) as string,
  );
  new Logger('VonageSample').warn(
    `DEVELOPMENT ONLY: no JWT_ISSUER_VONAGE_* variables, so Vonage tokens are signed with a development RSA key ${key.created ? 'generated now' : 'reused'} (${shownPath(key.path)}, mode 0600; application id ${DEV_VONAGE_APPLICATION_ID}). Vonage will refuse them; set JWT_ISSUER_VONAGE_APPLICATION_ID and JWT_ISSUER_VONAGE_PRIVATE_KEY.`,
  );
  return { applicationId: DEV_VONAGE_APPLICATION_ID, privateKey: key.path };
}
