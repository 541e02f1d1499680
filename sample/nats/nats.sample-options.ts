import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import {
  createNatsDevelopmentAccount,
  JWT_ISSUER_ENV_VARS,
  type NatsUserJwtOptions,
} from '../../lib/index.js';

/** Where the development nats-server configuration is written (override with `SAMPLE_NATS_SERVER_CONF`). */
export function natsDevelopmentConfigPath(): string {
  return resolve(
    process.env.SAMPLE_NATS_SERVER_CONF ?? 'sample/.dev/nats-server.conf',
  );
}

/**
 * Development defaults of the 'nats' section for the sample (none in production):
 * - any `JWT_ISSUER_NATS_*` variable set: `undefined`, the environment is used as is;
 * - `NODE_ENV=production`: `{}`, so the module reports the missing keys at startup;
 * - otherwise: a fresh development operator, account and scoped signing key, and a ready nats-server config written
 *   to `sample/.dev/nats-server.conf`.
 */
export async function natsSampleOptions(): Promise<
  NatsUserJwtOptions | undefined
> {
  const natsVars = JWT_ISSUER_ENV_VARS.filter((v) =>
    v.path.startsWith('nats.'),
  );
  if (natsVars.some((v) => (process.env[v.env] ?? '') !== '')) return undefined;
  if (process.env.NODE_ENV === 'production') return {};

  const dev = createNatsDevelopmentAccount();
  const file = natsDevelopmentConfigPath();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, dev.serverConfig(), { mode: 0o600 });
  const shown = relative(process.cwd(), file) || file;
  new Logger('NatsSample').warn(
    [
      '',
      '*'.repeat(76),
      '* NATS: DEVELOPMENT KEYS. No JWT_ISSUER_NATS_* variables are set, so a',
      '* throw-away operator, account and scoped signing key were generated.',
      '* Users issued now are accepted only by a nats-server started with:',
      `*   nats-server -c ${shown}`,
      `* Account ${dev.account.publicKey}`,
      `* Scoped signing key ${dev.signingKey.publicKey} (role ${dev.signingKey.role})`,
      '* Never use this in production (NODE_ENV=production refuses to start',
      '* without JWT_ISSUER_NATS_ACCOUNT_ID and JWT_ISSUER_NATS_SIGNING_KEY).',
      '*'.repeat(76),
    ].join('\n'),
  );
  return dev.moduleOptions;
}
