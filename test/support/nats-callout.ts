import { generateKeyPairSync, sign } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type KeyPair,
  newScopedSigner,
} from '@nats-io/jwt';
import { createCurve } from '@nats-io/nkeys';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { seedPrivateKey } from './nats-raw-connect.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A fresh curve key (xkey) made by @nats-io/nkeys: the server gets `publicKey`, the responder `seed`. */
export function newXkey(): { publicKey: string; seed: string } {
  const kp = createCurve();
  return { publicKey: kp.getPublicKey(), seed: text(kp.getSeed()) };
}

/** An Ed25519 private key PEM for the responder app's `service` section (it signs the test's service tokens). */
export function servicePrivateKeyPem(): string {
  return generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

/** A config-mode server (`authorization { auth_callout }`): callout user in AUTH, clients placed in APP. */
export interface ConfigModeSetup {
  issuerSeed: string;
  issuerPublicKey: string;
  calloutUser: string;
  calloutPass: string;
  xkey?: { publicKey: string; seed: string };
  /** With `observer: true`: a user of APP listed in `auth_users` (it bypasses the callout), to watch what clients do. */
  observerUser?: string;
  observerPass?: string;
  config: string;
}

/**
 * Builds a config-mode server configuration (port -1, debug on, auth timeout 2 s). `observer: true` adds a user in
 * APP that bypasses the callout (`auth_users`), to see what the callout's users can publish and receive.
 */
export function configModeSetup(
  options: { xkey?: boolean; timeout?: number; observer?: boolean } = {},
): ConfigModeSetup {
  const issuer = createAccount();
  const xkey = options.xkey ? newXkey() : undefined;
  const calloutPass = text(createUser().getSeed()).slice(2, 34);
  const observerPass = options.observer
    ? text(createUser().getSeed()).slice(2, 34)
    : undefined;
  const config = [
    'host: 127.0.0.1',
    'port: -1',
    'debug: true',
    'accounts {',
    `  AUTH { users: [ { user: callout, password: "${calloutPass}" } ] }`,
    observerPass
      ? `  APP { users: [ { user: observer, password: "${observerPass}" } ] }`
      : '  APP {}',
    '  OTHER {}',
    '}',
    'authorization {',
    `  timeout: ${options.timeout ?? 2}`,
    '  auth_callout {',
    `    issuer: ${issuer.getPublicKey()}`,
    `    auth_users: [ callout${observerPass ? ', observer' : ''} ]`,
    '    account: AUTH',
    ...(xkey ? [`    xkey: ${xkey.publicKey}`] : []),
    '  }',
    '}',
    '',
  ].join('\n');
  return {
    issuerSeed: text(issuer.getSeed()),
    issuerPublicKey: issuer.getPublicKey(),
    calloutUser: 'callout',
    calloutPass,
    xkey,
    ...(observerPass ? { observerUser: 'observer', observerPass } : {}),
    config,
  };
}

const LIMITS = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

const TEMPLATE = {
  pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] },
  sub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>', '_INBOX.>'] },
};

/** An operator-mode setup made with @nats-io/jwt: AUTH (the callout account), APP (allowed) and OTHER (not allowed). */
export interface OperatorModeSetup {
  authId: string;
  authSeed: string;
  appId: string;
  appScopedSeed: string;
  appJwt: string;
  otherId: string;
  otherSeed: string;
  /** `.creds` of the responder's user (in `auth_users`). */
  calloutCreds: string;
  /** `.creds` of the sentinel: a bearer user of AUTH with no rights, that every client presents. */
  sentinelJwt: string;
  sentinelSeed: string;
  xkey?: { publicKey: string; seed: string };
  config: string;
}

async function userCreds(
  name: string,
  account: KeyPair,
  user: Record<string, unknown> = {},
): Promise<{ jwt: string; seed: string; creds: string }> {
  const kp = createUser();
  const jwt = await encodeUser(name, kp, account, {
    subs: -1,
    data: -1,
    payload: -1,
    ...user,
  });
  return { jwt, seed: text(kp.getSeed()), creds: text(fmtCreds(jwt, kp)) };
}

/** Builds the operator-mode setup and its server configuration (memory resolver, debug on). */
export async function operatorModeSetup(
  options: { xkey?: boolean } = {},
): Promise<OperatorModeSetup> {
  const operator = createOperator();
  const operatorJwt = await encodeOperator('test-operator', operator);
  const auth = createAccount();
  const app = createAccount();
  const appScoped = createAccount();
  const other = createAccount();
  // The callout needs a system account (nats-server 2.10.27 crashes on the first callout without one).
  const sys = createAccount();
  const sysJwt = await encodeAccount(
    'SYS',
    sys,
    { limits: LIMITS },
    { signer: operator },
  );
  const xkey = options.xkey ? newXkey() : undefined;
  const callout = createUser();
  const calloutJwt = await encodeUser('callout', callout, auth, {
    subs: -1,
    data: -1,
    payload: -1,
  });
  const appJwt = await encodeAccount(
    'APP',
    app,
    {
      limits: LIMITS,
      signing_keys: [newScopedSigner(appScoped, 'users', TEMPLATE)],
    },
    { signer: operator },
  );
  const authJwt = await encodeAccount(
    'AUTH',
    auth,
    {
      limits: LIMITS,
      authorization: {
        auth_users: [callout.getPublicKey()],
        allowed_accounts: [app.getPublicKey()],
        ...(xkey ? { xkey: xkey.publicKey } : {}),
      } as never,
    },
    { signer: operator },
  );
  const otherJwt = await encodeAccount(
    'OTHER',
    other,
    { limits: LIMITS },
    { signer: operator },
  );
  const sentinel = await userCreds('sentinel', auth, {
    bearer_token: true,
    pub: { deny: ['>'] },
    sub: { deny: ['>'] },
  });
  const config = [
    'host: 127.0.0.1',
    'port: -1',
    'debug: true',
    `operator: ${JSON.stringify(operatorJwt)}`,
    `system_account: ${sys.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${sys.getPublicKey()}: ${JSON.stringify(sysJwt)}`,
    `  ${auth.getPublicKey()}: ${JSON.stringify(authJwt)}`,
    `  ${app.getPublicKey()}: ${JSON.stringify(appJwt)}`,
    `  ${other.getPublicKey()}: ${JSON.stringify(otherJwt)}`,
    '}',
    '',
  ].join('\n');
  return {
    authId: auth.getPublicKey(),
    authSeed: text(auth.getSeed()),
    appId: app.getPublicKey(),
    appScopedSeed: text(appScoped.getSeed()),
    appJwt,
    otherId: other.getPublicKey(),
    otherSeed: text(other.getSeed()),
    calloutCreds: text(fmtCreds(calloutJwt, callout)),
    sentinelJwt: sentinel.jwt,
    sentinelSeed: sentinel.seed,
    xkey,
    config,
  };
}

/**
 * Connects over raw TCP with the given CONNECT fields (and a nonce signature by `seed` when given) and reports the
 * outcome: `'ok'` on PONG, else the server's `-ERR` line. The Node client can throw an uncaught EPIPE on refusals.
 */
export function rawConnectWith(
  port: number,
  fields: Record<string, unknown>,
  seed?: string,
  timeoutMs = 10_000,
): Promise<string> {
  const key = seed === undefined ? undefined : seedPrivateKey(seed);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let buffer = '';
    let sent = false;
    const done = (outcome: string): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no answer from nats-server: ${buffer}`));
    });
    const err = () =>
      buffer.slice(buffer.indexOf('-ERR')).split('\r\n')[0].trim();
    socket.on('error', (e) =>
      buffer.includes('-ERR') ? done(err()) : reject(e),
    );
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      if (!sent) {
        const m = /^INFO (\{.*\}) *\r\n/.exec(buffer);
        if (!m) return;
        const info = JSON.parse(m[1]) as { nonce?: string };
        const sig =
          key === undefined
            ? undefined
            : sign(null, Buffer.from(info.nonce ?? ''), key).toString(
                'base64url',
              );
        const connectOptions = {
          ...fields,
          ...(sig ? { sig } : {}),
          verbose: false,
          pedantic: false,
          protocol: 1,
          lang: 'raw',
          version: '0',
        };
        socket.write(`CONNECT ${JSON.stringify(connectOptions)}\r\nPING\r\n`);
        sent = true;
        buffer = '';
        return;
      }
      if (buffer.includes('PONG')) done('ok');
      else if (buffer.includes('-ERR')) done(err());
    });
    socket.on('close', () => {
      if (buffer.includes('-ERR')) done(err());
      else if (!buffer.includes('PONG'))
        reject(new Error(`nats-server closed the connection: ${buffer}`));
    });
  });
}

/** A connected client and the permission errors the server reported to it. */
export interface WatchedClient {
  nc: NatsConnection;
  errors: string[];
}

/** Connects with the Node client (token, or sentinel JWT + token) and records the server's errors. */
export async function connectWatched(
  url: string,
  options: Parameters<typeof connect>[0],
): Promise<WatchedClient> {
  const nc = await connect({ servers: url, reconnect: false, ...options });
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error') errors.push(s.error.message);
    }
  })();
  return { nc, errors };
}
