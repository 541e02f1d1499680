import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { VonageJwtOptions } from '../../lib/index.js';

/** The application id the development defaults use (Vonage knows no such application). */
export const DEV_VONAGE_APPLICATION_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-00000000dev0';

/**
 * Development defaults of the 'vonage' section for the sample: `undefined` when any `JWT_ISSUER_VONAGE_*` variable
 * is set (not empty) (the environment is used as is), `{}` in production (so the module reports what is missing), otherwise an
 * RSA-2048 key generated at start-up and a development application id, announced loudly.
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
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  new Logger('VonageSample').warn(
    `DEVELOPMENT ONLY: no JWT_ISSUER_VONAGE_* variables, so Vonage tokens are signed with an RSA key generated at start-up (application id ${DEV_VONAGE_APPLICATION_ID}). Vonage will refuse them; set JWT_ISSUER_VONAGE_APPLICATION_ID and JWT_ISSUER_VONAGE_PRIVATE_KEY.`,
  );
  return { applicationId: DEV_VONAGE_APPLICATION_ID, privateKey };
}
