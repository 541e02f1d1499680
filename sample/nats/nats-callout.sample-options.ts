import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { createAccount, createCurve } from '@nats-io/nkeys';
import {
  JWT_ISSUER_ENV_VARS,
  type NatsCalloutOptions,
} from '../../lib/index.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Where the development auth-callout server configuration is written (override with `SAMPLE_NATS_CALLOUT_CONF`). */
export function natsCalloutConfigPath(): string {
  return resolve(
    process.env.SAMPLE_NATS_CALLOUT_CONF ?? 'sample/.dev/nats-callout.conf',
  );
}

/**
 * Development defaults of the sample's auth-callout responder (none in production, none when any
 * `JWT_ISSUER_NATS_CALLOUT_*` or other `JWT_ISSUER_NATS_*` variable is set): a throw-away callout issuer key, xkey
 * and responder password, and a config-mode nats-server configuration (xkey on, an `APP` account, port
 * `SAMPLE_NATS_CALLOUT_PORT`, default 4223) written to `sample/.dev/nats-callout.conf`. Clients presenting one of the
 * sample's service tokens minted for NATS (`aud: "nats"`) as `token` get `users.<sub>.>` and `teams.<team>.>`.
 */
export function natsCalloutSampleOptions(): NatsCalloutOptions | undefined {
  const natsVars = JWT_ISSUER_ENV_VARS.filter((v) =>
    v.path.startsWith('nats.'),
  );
  if (natsVars.some((v) => (process.env[v.env] ?? '') !== '')) return undefined;
  if (process.env.NODE_ENV === 'production') return undefined;
  const port = Number(process.env.SAMPLE_NATS_CALLOUT_PORT ?? 4223);
  const issuer = createAccount();
  const xkey = createCurve();
  const pass = randomBytes(18).toString('base64url');
  const file = natsCalloutConfigPath();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    [
      '# nats-server >= 2.10, auth callout (config mode, xkey on), written by the nest-jwt-issuer sample.',
      `# Development keys only: a new file at every start. Run: nats-server -c ${relative(process.cwd(), file) || file}`,
      'host: 127.0.0.1',
      `port: ${port}`,
      'accounts {',
      `  AUTH { users: [ { user: callout, password: "${pass}" } ] }`,
      '  APP {}',
      '}',
      'authorization {',
      '  auth_callout {',
      `    issuer: ${issuer.getPublicKey()}`,
      '    auth_users: [ callout ]',
      '    account: AUTH',
      `    xkey: ${xkey.getPublicKey()}`,
      '  }',
      '}',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  new Logger('NatsSample').warn(
    `NATS auth callout: DEVELOPMENT keys; start nats-server (2.10 or later) with: nats-server -c ${relative(process.cwd(), file) || file}`,
  );
  return {
    servers: `nats://127.0.0.1:${port}`,
    user: 'callout',
    pass,
    issuerKey: text(issuer.getSeed()),
    xkey: text(xkey.getSeed()),
    account: 'APP',
    authorizer: 'service-token',
    // Only tokens minted for NATS (aud "nats") open a connection: a token for another service does not.
    audience: 'nats',
    tagClaims: ['team'],
    permissions: {
      pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] },
      sub: {
        allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>', '_INBOX.>'],
      },
    },
  };
}
