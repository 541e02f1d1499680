import { Logger } from '@nestjs/common';
import {
  createNatsDevelopmentAccount,
  JWT_ISSUER_ENV_VARS,
  type NatsUserJwtOptions,
} from '../../lib/index.js';
import { keepDevFile, shownPath, writeDevFile } from '../dev-files.js';

/** What the sample keeps of its development NATS account (`sample/.dev/nats-account.json`, mode 0600). */
interface KeptNatsAccount {
  moduleOptions: { accountId: string; signingKey: string; accountJwt: string };
  signingPublicKey: string;
  role: string;
  serverConfig: string;
}

/**
 * Development defaults of the 'nats' section for the sample (none in production):
 * - any `JWT_ISSUER_NATS_*` variable set: `undefined`, the environment is used as is;
 * - `NODE_ENV=production`: `{}`, so the module reports the missing keys at startup;
 * - otherwise: a development operator, account and scoped signing key, made at the first start and kept in
 *   `sample/.dev/nats-account.json` (so users issued before a restart still connect), and a ready nats-server
 *   config written to `sample/.dev/nats-server.conf`.
 */
export async function natsSampleOptions(): Promise<
  NatsUserJwtOptions | undefined
> {
  const natsVars = JWT_ISSUER_ENV_VARS.filter((v) =>
    v.path.startsWith('nats.'),
  );
  if (natsVars.some((v) => (process.env[v.env] ?? '') !== '')) return undefined;
  if (process.env.NODE_ENV === 'production') return {};

  const kept = keepDevFile('nats-account.json', () => {
    const dev = createNatsDevelopmentAccount();
    const account: KeptNatsAccount = {
      moduleOptions: dev.moduleOptions,
      signingPublicKey: dev.signingKey.publicKey,
      role: dev.signingKey.role,
      serverConfig: dev.serverConfig(),
    };
    return `${JSON.stringify(account, null, 2)}\n`;
  });
  const account = JSON.parse(kept.text) as KeptNatsAccount;
  const conf = shownPath(
    writeDevFile('nats-server.conf', account.serverConfig),
  );
  new Logger('NatsSample').warn(
    [
      '',
      '*'.repeat(76),
      `* NATS: DEVELOPMENT KEYS ${kept.created ? 'generated now' : 'reused'} (${shownPath(kept.path)}).`,
      '* No JWT_ISSUER_NATS_* variables are set, so a throw-away operator,',
      '* account and scoped signing key are used. Users issued by this sample are',
      '* accepted by a nats-server started with:',
      `*   nats-server -c ${conf}`,
      `* Account ${account.moduleOptions.accountId}`,
      `* Scoped signing key ${account.signingPublicKey} (role ${account.role})`,
      '* Never use this in production (NODE_ENV=production refuses to start',
      '* without JWT_ISSUER_NATS_ACCOUNT_ID and JWT_ISSUER_NATS_SIGNING_KEY).',
      '*'.repeat(76),
    ].join('\n'),
  );
  return account.moduleOptions;
}
