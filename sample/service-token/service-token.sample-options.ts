import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ServiceTokenOptions } from '../../lib/index.js';
import { JWT_ISSUER_ENV_VARS } from '../../lib/index.js';
import { keepDevFile, shownPath } from '../dev-files.js';

/**
 * Development defaults of the `service` section for the sample: `undefined` when any `JWT_ISSUER_SERVICE_*`
 * variable is set (the environment is used as is), and in production without them (the sample's `require` then
 * reports the missing options); otherwise a service named `sample` whose issuer is the sample's own URL, signing
 * with a development RS256 key kept in `sample/.dev/service-key.pem` (mode 0600) across starts, so that the CLI can
 * mint tokens the sample trusts. The CLI line is logged at start.
 */
export async function serviceTokenSampleOptions(
  env: Record<string, string | undefined> = process.env,
): Promise<ServiceTokenOptions | undefined> {
  const configured = JWT_ISSUER_ENV_VARS.some(
    (v) =>
      v.path.startsWith('service.') &&
      env[v.env] !== undefined &&
      env[v.env] !== '',
  );
  if (configured) return undefined;
  if (env.NODE_ENV === 'production') return undefined;
  const port = Number(env.PORT ?? 3000);
  const issuer = `http://${env.HOST ?? '127.0.0.1'}:${port}`;
  const key = keepDevFile(
    'service-key.pem',
    () =>
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        format: 'pem',
        type: 'pkcs8',
      }) as string,
    env,
  );
  const file = shownPath(key.path);
  new Logger('ServiceTokenSample').warn(
    [
      `DEVELOPMENT service key ${key.created ? 'generated' : 'reused'}: ${file} (mode 0600; no JWT_ISSUER_SERVICE_* variables are set). ` +
        `The sample trusts tokens of ${issuer} signed with it. Mint alice's (sub alice, team blue) for POST /nats/users with:`,
      `  TOKEN=$(${sampleCliLine(file, issuer)})`,
    ].join('\n'),
  );
  return { name: 'sample', issuer, privateKey: key.path, tokenValidity: 600 };
}

/** The CLI line that mints alice's token for the sample (as docs/sample.md shows it). */
export function sampleCliLine(keyFile: string, issuer: string): string {
  return `npm run -s cli -- token service --key ${keyFile} --iss ${issuer} --sub alice --claim team=blue`;
}
