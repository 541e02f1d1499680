import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import {
  connect,
  credsAuthenticator,
  jwtAuthenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/broker-process.js';
import {
  buildCli,
  cleanEnv,
  type CliRun,
  runCliProcess,
} from '../support/cli-process.js';
import { startHostileJwks, type HostileJwks } from '../support/hostile-jwks.js';
import {
  type RunningNatsServer,
  startNatsServerWithFile,
} from '../support/nats-server.js';
import {
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

// The CLI as users run it: `node …/cli/main.js` (the bin's file) in its own process, built from lib/ as
// `npm run build` builds it. Every run's stdout and stderr are checked for the secrets the test handed it.
let main: string;
let remove: () => void;
let dir: string;
const secrets: string[] = [];

/** Runs the CLI in `dir`; fails the test if a secret appears in its output. */
async function cli(
  args: string[],
  options: {
    env?: Record<string, string>;
    stdin?: string;
    cwd?: string;
    timeoutMs?: number;
  } = {},
): Promise<CliRun> {
  const run = await runCliProcess(main, args, { cwd: dir, ...options });
  for (const secret of secrets) {
    expect(run.stdout, `secret in stdout of ${args.join(' ')}`).not.toContain(
      secret,
    );
    expect(run.stderr, `secret in stderr of ${args.join(' ')}`).not.toContain(
      secret,
    );
  }
  return run;
}

/** The lines of a PEM's body: any of them in an output is a leak. */
function pemBody(pem: string): string[] {
  return pem
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('-----'))
    .map((l) => l.slice(0, 40));
}

const ISS = 'https://orders.internal';
const json = (run: CliRun) => JSON.parse(run.stdout) as Record<string, any>;

/** Subscribes and publishes on `subject`; true when the message came back without a permissions violation. */
async function allowed(nc: NatsConnection, subject: string): Promise<boolean> {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status())
      if (s.type === 'error') errors.push(s.error.message);
  })();
  let got = false;
  const sub = nc.subscribe(subject, { max: 1 });
  void (async () => {
    for await (const _ of sub) got = true;
  })().catch(() => undefined);
  await nc.flush();
  nc.publish(subject, 'x');
  await nc.flush();
  await nc.flush();
  return got && errors.length === 0;
}

/** The problems JwtIssuerModule reports at bootstrap, in this process, for `vars` (and nothing else JWT_ISSUER_*). */
async function moduleProblems(
  vars: Record<string, string>,
  required: string[] = [],
): Promise<unknown[] | undefined> {
  const { vi } = await import('vitest');
  const { Test } = await import('@nestjs/testing');
  const { ConfigModule } = await import('@nestjs/config');
  const { JwtIssuerModule } = await import('../../lib/index.js');
  for (const k of Object.keys(process.env))
    if (k.startsWith('JWT_ISSUER_')) vi.stubEnv(k, undefined);
  for (const [k, v] of Object.entries(vars)) vi.stubEnv(k, v);
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true }),
        JwtIssuerModule.forRoot({ require: required as never[] }),
      ],
    })
      .setLogger({ log() {}, warn() {}, error() {} })
      .compile();
    await moduleRef.close();
    return undefined;
  } catch (e) {
    return (e as { problems?: unknown[] }).problems ?? [String(e)];
  } finally {
    vi.unstubAllEnvs();
  }
}

const secretFile = () => join(dir, 'seald-secret.txt');
const vonageKey = () => join(dir, 'vonage.pem');

/** `token service` with `key` and the test issuer. */
const serviceArgs = (key: string, extra: string[] = []) => [
  'token',
  'service',
  '--key',
  key,
  '--iss',
  ISS,
  '--sub',
  'a',
  ...extra,
];

beforeAll(async () => {
  ({ main, remove } = await buildCli('cli-spec'));
  dir = mkdtempSync(join(tmpdir(), 'cli-spec-'));
}, 240_000);

afterAll(() => {
  remove?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('nest-jwt-issuer: usage, help, exit codes', () => {
  const commands = [
    'keys service',
    'keys nats',
    'token service',
    'token nats',
    'token seald',
    'token vonage',
    'inspect',
    'verify',
    'check',
  ];

  it.each(commands)(
    '%s --help: usage, options and examples on stdout, exit 0',
    async (command) => {
      const run = await cli([...command.split(' '), '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: nest-jwt-issuer ${command}`);
      expect(run.stdout).toContain('Examples:');
      expect(run.stdout).toContain('--json');
      expect(run.stdout).toMatch(
        /Exit codes: 0 success, 1 refused or invalid, 2 usage error/,
      );
      expect(run.stderr).toBe('');
    },
  );

  it('lists every command with --help (exit 0), and on stderr with exit 2 without a command', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of commands) expect(help.stdout).toContain(`  ${c} `);
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('Commands:');
  });

  it('exit 2 for an unknown command, a missing word, an unknown option, a missing value; the message says what', async () => {
    const unknown = await cli(['mint']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command/);
    const half = await cli(['token']);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/give one of service, nats, seald, vonage/);
    const option = await cli(['keys', 'service', '--colour', 'red']);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/unknown option '--colour'/);
    expect(option.stderr).toMatch(/see nest-jwt-issuer keys service --help/);
    const missing = await cli([
      'token',
      'service',
      '--key',
      'k.pem',
      '--sub',
      'a',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--iss is required/);
    const stray = 'S'.repeat(20);
    secrets.push(stray);
    const extra = await cli(['check', stray]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toMatch(
      /takes no arguments, only options \(got 1; not shown\)/,
    );
  });

  it('--version prints the package version', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^(\d+\.\d+\.\d+|unknown)$/);
  });
});

describe('keys service and token service: a key file, tokens the module, a guarded app and jose accept', () => {
  let app: RunningApp;
  let keyFile: string;
  let jwks: { keys: Record<string, unknown>[] };

  beforeAll(async () => {
    keyFile = join(dir, 'service-key.pem');
    const run = await cli([
      'keys',
      'service',
      '--alg',
      'ES256',
      '--out',
      keyFile,
    ]);
    expect(run.code).toBe(0);
    jwks = JSON.parse(run.stdout) as typeof jwks;
    const pem = readFileSync(keyFile, 'utf8');
    secrets.push(...pemBody(pem));
    expect(run.stderr).toContain(
      `Wrote the ES256 private key to ${keyFile} (mode 0600)`,
    );
    // A real app signing with that key file, trusting its own tokens (as the sample does).
    app = await startServiceApp({
      name: 'orders',
      issuer: ISS,
      algorithm: 'ES256',
      privateKey: keyFile,
    });
  }, 60_000);

  afterAll(async () => {
    await app?.app.close();
  });

  it('writes the private key with mode 0600 and prints its public JWKS, with the kid the module publishes for it', async () => {
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
    });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const published = (await (
      await fetch(`${app.url}/.well-known/jwks.json`)
    ).json()) as typeof jwks;
    expect(published.keys).toEqual(jwks.keys);
  });

  it('never overwrites a key file without --force; with --force it replaces it (still 0600)', async () => {
    const before = readFileSync(keyFile, 'utf8');
    const again = await cli(['keys', 'service', '--out', keyFile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; not overwritten \(use --force/);
    expect(again.stdout).toBe('');
    expect(readFileSync(keyFile, 'utf8')).toBe(before);
    const other = join(dir, 'other-key.pem');
    writeFileSync(other, 'old', { mode: 0o644 });
    const forced = await cli([
      'keys',
      'service',
      '--alg',
      'EdDSA',
      '--out',
      other,
      '--force',
      '--json',
    ]);
    expect(forced.code).toBe(0);
    expect(json(forced)).toMatchObject({ file: other, algorithm: 'EdDSA' });
    expect(json(forced).kid).toMatch(/^s-/);
    secrets.push(...pemBody(readFileSync(other, 'utf8')));
    expect(statSync(other).mode & 0o777).toBe(0o600);
    const bad = await cli([
      'keys',
      'service',
      '--alg',
      'HS256',
      '--out',
      join(dir, 'x.pem'),
    ]);
    expect(bad.code).toBe(2);
  });

  it('token service: accepted by the real guarded app and by jose; kid, source, iss, sub, claims, aud and ttl as asked', async () => {
    const run = await cli([
      'token',
      'service',
      '--key',
      keyFile,
      '--iss',
      ISS,
      '--sub',
      'alice',
      '--claim',
      'team=blue',
      '--claim',
      'level=3',
      '--aud',
      'orders',
      '--ttl',
      '120',
    ]);
    expect(run.code).toBe(0);
    const token = run.stdout.trim();
    const res = await fetch(`${app.url}/internal/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { sub: string }).sub).toBe('alice');
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createLocalJWKSet(jwks as never),
      {
        issuer: ISS,
        audience: 'orders',
      },
    );
    expect(protectedHeader).toEqual({
      alg: 'ES256',
      typ: 'JWT',
      kid: jwks.keys[0].kid,
    });
    expect(payload).toMatchObject({
      source: 'microservice',
      sub: 'alice',
      team: 'blue',
      level: 3,
    });
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    // The module's own token has the same header and the same claim names.
    const own = decodeJwt(await app.service.getToken());
    expect(Object.keys(payload).toSorted()).toEqual(
      [...Object.keys(own), 'aud', 'team', 'level'].toSorted(),
    );
  });

  it('token service --key-env VAR reads the key from the environment; the value is never printed', async () => {
    const pem = readFileSync(keyFile, 'utf8');
    const run = await cli(
      [
        'token',
        'service',
        '--key-env',
        'ORDERS_KEY',
        '--iss',
        ISS,
        '--sub',
        'bob',
        '--json',
      ],
      { env: { ORDERS_KEY: pem } },
    );
    expect(run.code).toBe(0);
    expect(json(run)).toMatchObject({
      algorithm: 'ES256',
      kid: jwks.keys[0].kid,
    });
    const unset = await cli([
      'token',
      'service',
      '--key-env',
      'NOPE',
      '--iss',
      ISS,
      '--sub',
      'bob',
    ]);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/NOPE is not set or empty/);
  });

  it('token service refuses bad keys with exit 1 and a clear message: missing, unreadable, garbage, public, wrong type', async () => {
    const missing = await cli(serviceArgs(join(dir, 'nope.pem')));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--key: .*nope\.pem does not exist/);

    const folder = join(dir, 'a-folder');
    mkdirSync(folder, { recursive: true });
    const isDir = await cli(serviceArgs(folder));
    expect(isDir.code).toBe(1);
    expect(isDir.stderr).toMatch(/is a folder, not a file/);

    if (process.getuid?.() !== 0) {
      // root reads any file: the permission case only means something for other users.
      const locked = join(dir, 'locked.pem');
      writeFileSync(locked, readFileSync(keyFile));
      chmodSync(locked, 0o000);
      const run = await cli(serviceArgs(locked));
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/cannot be read \(permission denied\)/);
    }

    const garbage = join(dir, 'garbage.pem');
    const junk = randomBytes(300).toString('base64');
    secrets.push(junk.slice(0, 40));
    writeFileSync(
      garbage,
      `-----BEGIN PRIVATE KEY-----\n${junk}\n-----END PRIVATE KEY-----\n`,
    );
    const bad = await cli(serviceArgs(garbage));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--key: is not a valid private key/);

    const publicFile = join(dir, 'public.pem');
    writeFileSync(
      publicFile,
      createPublicKey(readFileSync(keyFile, 'utf8')).export({
        type: 'spki',
        format: 'pem',
      }),
    );
    const pub = await cli(serviceArgs(publicFile));
    expect(pub.code).toBe(1);
    expect(pub.stderr).toMatch(
      /--key: is a public key; a private key is needed/,
    );

    const wrong = await cli(serviceArgs(keyFile, ['--alg', 'RS256']));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/--key: does not fit RS256/);

    const badIssuer = await cli([
      'token',
      'service',
      '--key',
      keyFile,
      '--iss',
      'orders',
      '--sub',
      'a',
    ]);
    expect(badIssuer.code).toBe(1);
    expect(badIssuer.stderr).toMatch(
      /--iss: must be an absolute http\(s\) URL/,
    );

    const reserved = await cli(
      serviceArgs(keyFile, ['--claim', 'iss=https://evil']),
    );
    expect(reserved.code).toBe(2);
    const both = await cli(serviceArgs(keyFile, ['--key-env', 'X']));
    expect(both.code).toBe(2);
  });

  it("verify: exit 0 with the claims against the JWKS file and the app's JWKS URL; 1 with the code for expired, wrong audience, garbage and truncated tokens", async () => {
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwks));
    const mint = async (extra: string[] = []) =>
      (
        await cli([
          'token',
          'service',
          '--key',
          keyFile,
          '--iss',
          ISS,
          '--sub',
          'alice',
          ...extra,
        ])
      ).stdout.trim();
    const token = await mint(['--aud', 'orders']);

    const byFile = await cli([
      'verify',
      token,
      '--jwks',
      jwksFile,
      '--aud',
      'orders',
      '--service',
    ]);
    expect(byFile.code).toBe(0);
    expect(JSON.parse(byFile.stdout)).toMatchObject({ sub: 'alice', iss: ISS });
    expect(byFile.stderr).toMatch(/^Valid service token/);

    const byUrl = await cli(
      ['verify', '-', '--jwks', `${app.url}/.well-known/jwks.json`, '--json'],
      { stdin: token },
    );
    expect(byUrl.code).toBe(0);
    expect(json(byUrl)).toMatchObject({
      valid: true,
      kind: 'service token',
      claims: { sub: 'alice' },
    });

    const audience = await cli([
      'verify',
      token,
      '--jwks',
      jwksFile,
      '--aud',
      'billing',
    ]);
    expect(audience.code).toBe(1);
    expect(audience.stderr).toMatch(/ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID/);

    const otherIssuer = await cli([
      'verify',
      token,
      '--jwks',
      jwksFile,
      '--iss',
      'https://else.example',
    ]);
    expect(otherIssuer.code).toBe(1);
    expect(otherIssuer.stderr).toMatch(/ERR_JWT_ISSUER_TOKEN_/);

    const short = await mint(['--ttl', '1']);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await cli([
      'verify',
      short,
      '--jwks',
      jwksFile,
      '--clock-tolerance',
      '0',
      '--json',
    ]);
    expect(expired.code).toBe(1);
    expect(json(expired)).toMatchObject({
      ok: false,
      code: 'ERR_JWT_ISSUER_TOKEN_EXPIRED',
    });
    expect(expired.stderr).toMatch(/ERR_JWT_ISSUER_TOKEN_EXPIRED/);

    const garbage = await cli(['verify', 'not-a-token', '--jwks', jwksFile]);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/ERR_JWT_ISSUER_TOKEN_MALFORMED/);

    const [h, p, s] = token.split('.');
    for (const cut of [
      `${h}.${p.slice(0, p.length - 7)}.${s}`,
      `${h}.${p}.${s.slice(0, 20)}`,
      `${h}.${p}`,
    ]) {
      const run = await cli(['verify', cut, '--jwks', jwksFile, '--iss', ISS]);
      expect(run.code, cut).toBe(1);
      expect(run.stderr).toMatch(
        /ERR_JWT_ISSUER_TOKEN_(MALFORMED|SIGNATURE_INVALID)/,
      );
    }
    const noJwks = await cli(['verify', token]);
    expect(noJwks.code).toBe(2);
    const missingFile = await cli([
      'verify',
      token,
      '--jwks',
      join(dir, 'none.json'),
    ]);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/does not exist/);
  }, 60_000);
});

describe('verify against a JWKS URL that is down or slow: a bounded wait, exit 1, JWKS_UNAVAILABLE', () => {
  let hostile: HostileJwks;
  let token: string;

  beforeAll(async () => {
    hostile = await startHostileJwks();
    const key = join(dir, 'slow-key.pem');
    await cli(['keys', 'service', '--out', key]);
    secrets.push(...pemBody(readFileSync(key, 'utf8')));
    token = (
      await cli(['token', 'service', '--key', key, '--iss', ISS, '--sub', 'a'])
    ).stdout.trim();
  });
  afterAll(async () => {
    await hostile?.close();
  });

  it('nobody listening: refused at once', async () => {
    const port = await freePort();
    const run = await cli([
      'verify',
      token,
      '--jwks',
      `http://127.0.0.1:${port}/jwks.json`,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ERR_JWT_ISSUER_JWKS_UNAVAILABLE/);
    expect(run.stdout).toBe('');
  });

  it.each([
    ['hangs', { kind: 'hang' } as const],
    ['trickles a byte a second', { kind: 'trickle', everyMs: 1000 } as const],
    ['closes without answering', { kind: 'down' } as const],
    ['answers 500', { kind: 'status', status: 500 } as const],
  ])(
    'a server that %s: refused within the --timeout',
    async (name, behaviour) => {
      hostile.set(`/${behaviour.kind}`, behaviour);
      const run = await cli([
        'verify',
        token,
        '--jwks',
        hostile.url(`/${behaviour.kind}`),
        '--timeout',
        '1',
      ]);
      expect(run.code, name).toBe(1);
      expect(run.stderr).toMatch(/ERR_JWT_ISSUER_JWKS_UNAVAILABLE/);
      // One second of deadline plus the process start: far below the module's default 5 s.
      expect(run.ms).toBeLessThan(4000);
    },
  );
});

describe('keys nats and token nats: a development account, and user JWTs a real nats-server accepts', () => {
  let nats: RunningNatsServer;
  let natsDir: string;
  let account: string;

  beforeAll(async () => {
    natsDir = join(dir, 'nats-dev');
    const run = await cli(['keys', 'nats', '--dir', natsDir, '--port=-1']);
    expect(run.code).toBe(0);
    account = /JWT_ISSUER_NATS_ACCOUNT_ID=(A\w+)/.exec(run.stdout)![1];
    for (const f of ['operator.nk', 'account.nk', 'signing-key.nk']) {
      secrets.push(readFileSync(join(natsDir, f), 'utf8').trim());
    }
    nats = await startNatsServerWithFile(join(natsDir, 'nats-server.conf'));
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('writes seeds and the env file with mode 0600, the JWTs and nats-server.conf; prints the lines without the seed', async () => {
    for (const f of [
      'operator.nk',
      'account.nk',
      'signing-key.nk',
      'jwt-issuer.env',
    ]) {
      expect(statSync(join(natsDir, f)).mode & 0o777, f).toBe(0o600);
    }
    const conf = readFileSync(join(natsDir, 'nats-server.conf'), 'utf8');
    expect(conf).toContain('resolver: MEMORY');
    const again = await cli(['keys', 'nats', '--dir', natsDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/nothing written \(use --force/);
  });

  it('token nats --creds: a fresh user whose creds file (0600) connects and gets the template subjects', async () => {
    const creds = join(dir, 'alice.creds');
    const run = await cli([
      'token',
      'nats',
      '--signing-key',
      join(natsDir, 'signing-key.nk'),
      '--account',
      account,
      '--account-jwt',
      join(natsDir, 'account.jwt'),
      '--name',
      'alice',
      '--tag',
      'team:blue',
      '--creds',
      '--out',
      creds,
    ]);
    expect(run.code).toBe(0);
    expect(statSync(creds).mode & 0o777).toBe(0o600);
    const text = readFileSync(creds, 'utf8');
    secrets.push(/SU[A-Z0-9]{56}/.exec(text)![0]);
    const nc = await connect({
      servers: nats.url,
      authenticator: credsAuthenticator(new TextEncoder().encode(text)),
    });
    try {
      expect(await allowed(nc, 'users.alice.x')).toBe(true);
      expect(await allowed(nc, 'teams.blue.x')).toBe(true);
      expect(await allowed(nc, 'users.bob.x')).toBe(false);
    } finally {
      await nc.close();
    }
    const overwrite = await cli([
      'token',
      'nats',
      '--signing-key',
      join(natsDir, 'signing-key.nk'),
      '--account',
      account,
      '--creds',
      '--out',
      creds,
    ]);
    expect(overwrite.code).toBe(1);
    expect(readFileSync(creds, 'utf8')).toBe(text);
  });

  it('token nats --user: the JWT for a user key held elsewhere connects with that key', async () => {
    const kp = createUser();
    secrets.push(new TextDecoder().decode(kp.getSeed()));
    const run = await cli(
      [
        'token',
        'nats',
        '--signing-key-env',
        'SIGNING',
        '--account',
        account,
        '--user',
        kp.getPublicKey(),
        '--name',
        'bob',
        '--ttl',
        '60',
      ],
      {
        env: { SIGNING: readFileSync(join(natsDir, 'signing-key.nk'), 'utf8') },
      },
    );
    expect(run.code).toBe(0);
    const jwt = run.stdout.trim();
    const claims = decodeJwt(jwt);
    expect(claims.exp! - claims.iat!).toBe(60);
    const nc = await connect({
      servers: nats.url,
      authenticator: jwtAuthenticator(jwt, kp.getSeed()),
    });
    try {
      expect(await allowed(nc, 'users.bob.x')).toBe(true);
    } finally {
      await nc.close();
    }
  });

  it('same refusals as the library: unsafe names and tags, a user seed as signing key, a user key as account; exit 1, seed never echoed', async () => {
    const base = [
      'token',
      'nats',
      '--signing-key',
      join(natsDir, 'signing-key.nk'),
      '--account',
      account,
      '--user',
      createUser().getPublicKey(),
    ];
    for (const extra of [
      ['--name', 'bob.x'],
      ['--name', '*'],
      ['--tag', 'team:*'],
    ]) {
      const run = await cli([...base, ...extra]);
      expect(run.code, extra.join(' ')).toBe(1);
      expect(run.stderr).toMatch(/ERR_JWT_ISSUER_UNSAFE_TEMPLATE_VALUE/);
    }
    const userSeed = new TextDecoder().decode(createUser().getSeed());
    secrets.push(userSeed);
    const seedFile = join(dir, 'user-seed.nk');
    writeFileSync(seedFile, userSeed, { mode: 0o600 });
    const wrongSeed = await cli([
      'token',
      'nats',
      '--signing-key',
      seedFile,
      '--account',
      account,
      '--user',
      createUser().getPublicKey(),
    ]);
    expect(wrongSeed.code).toBe(1);
    expect(wrongSeed.stderr).toMatch(/ERR_JWT_ISSUER_NKEY_WRONG_TYPE/);
    const wrongAccount = await cli([
      'token',
      'nats',
      '--signing-key',
      join(natsDir, 'signing-key.nk'),
      '--account',
      createUser().getPublicKey(),
      '--creds',
      '--out',
      join(dir, 'x.creds'),
    ]);
    expect(wrongAccount.code).toBe(1);
    expect(wrongAccount.stderr).toMatch(/ERR_JWT_ISSUER_NKEY_WRONG_TYPE/);
    const usage = await cli([...base, '--creds']);
    expect(usage.code).toBe(2);
    const neither = await cli([
      'token',
      'nats',
      '--signing-key',
      join(natsDir, 'signing-key.nk'),
      '--account',
      account,
    ]);
    expect(neither.code).toBe(2);
  });

  it('inspect tells the NATS user, account and operator JWTs apart (a .creds file on stdin: its JWT, never its seed)', async () => {
    const creds = readFileSync(join(dir, 'alice.creds'), 'utf8');
    const user = await cli(['inspect', '-', '--json'], { stdin: creds });
    expect(user.code).toBe(0);
    expect(json(user)).toMatchObject({
      kind: 'NATS user JWT',
      verified: false,
      claims: { name: 'alice' },
    });
    const accountJwt = readFileSync(
      join(natsDir, 'account.jwt'),
      'utf8',
    ).trim();
    expect(json(await cli(['inspect', accountJwt, '--json'])).kind).toBe(
      'NATS account JWT',
    );
    const operatorJwt = readFileSync(
      join(natsDir, 'operator.jwt'),
      'utf8',
    ).trim();
    const operator = await cli(['inspect', operatorJwt]);
    expect(operator.stdout).toMatch(/^kind:\s+NATS operator JWT/);
    expect(operator.stdout).toMatch(/exp:\s+- \(never expires\)/);
  });
});

describe('token seald, token vonage, and inspect on each kind of token', () => {
  let sealdSecret: string;
  let vonagePem: string;

  beforeAll(() => {
    sealdSecret = randomBytes(48).toString('base64url');
    secrets.push(sealdSecret);
    writeFileSync(secretFile(), `${sealdSecret}\n`, { mode: 0o600 });
    vonagePem = generateKeyPairSync('rsa', {
      modulusLength: 2048,
    }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    secrets.push(...pemBody(vonagePem));
    writeFileSync(vonageKey(), vonagePem, { mode: 0o600 });
  });

  it('token seald: sign-up and anonymous tokens as SealdJwtService signs them, verified by jose with the secret', async () => {
    const signup = await cli([
      'token',
      'seald',
      '--secret-id',
      'sid-1',
      '--secret',
      secretFile(),
      '--app-id',
      'my-app',
      '--signup',
      '--user-id',
      'alice',
    ]);
    expect(signup.code).toBe(0);
    const { payload, protectedHeader } = await jwtVerify(
      signup.stdout.trim(),
      new TextEncoder().encode(sealdSecret),
    );
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: 'sid-1',
      join_team: true,
      scopes: [3, 4],
      connector_add: { value: 'alice@my-app', type: 'AP' },
    });
    const anonymous = await cli(
      [
        'token',
        'seald',
        '--secret-id',
        'sid-1',
        '--secret-env',
        'SEALD_SECRET',
        '--anonymous',
        '--recipient',
        'r1',
        '--owner',
        'o1',
        '--json',
      ],
      { env: { SEALD_SECRET: sealdSecret } },
    );
    expect(anonymous.code).toBe(0);
    expect(decodeJwt(json(anonymous).token as string)).toMatchObject({
      recipients: ['r1'],
      owner: 'o1',
      scopes: [0, 1],
    });
    const inspected = await cli([
      'inspect',
      json(anonymous).token as string,
      '--json',
    ]);
    expect(json(inspected).kind).toBe('Seald SDK token');
  });

  it('token seald refuses what the library refuses (exit 1), and usage mistakes (exit 2)', async () => {
    const noApp = await cli([
      'token',
      'seald',
      '--secret-id',
      'sid',
      '--secret',
      secretFile(),
      '--signup',
      '--user-id',
      'alice',
    ]);
    expect(noApp.code).toBe(1);
    expect(noApp.stderr).toMatch(/needs the Seald app id/);
    const scope = await cli([
      'token',
      'seald',
      '--secret-id',
      'sid',
      '--secret',
      secretFile(),
      '--permissions',
      '1',
      '--scope',
      '3',
    ]);
    expect(scope.code).toBe(1);
    const noSecret = await cli([
      'token',
      'seald',
      '--secret-id',
      'sid',
      '--signup',
    ]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/a secret is never taken as an argument/);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n');
    const emptySecret = await cli([
      'token',
      'seald',
      '--secret-id',
      'sid',
      '--secret',
      empty,
      '--signup',
    ]);
    expect(emptySecret.code).toBe(1);
    expect(emptySecret.stderr).toMatch(/is empty/);
  });

  it('token vonage: RS256 with the application key, verified by jose with its public key; refuses a public key', async () => {
    const run = await cli([
      'token',
      'vonage',
      '--application-id',
      'app-1',
      '--key',
      vonageKey(),
      '--sub',
      'jamie',
      '--acl',
      'sessions,conversations',
      '--ttl',
      '300',
    ]);
    expect(run.code).toBe(0);
    const { payload } = await jwtVerify(
      run.stdout.trim(),
      createPublicKey(vonagePem),
    );
    expect(payload).toMatchObject({ application_id: 'app-1', sub: 'jamie' });
    expect(Object.keys((payload.acl as { paths: object }).paths)).toHaveLength(
      2,
    );
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(json(await cli(['inspect', run.stdout.trim(), '--json'])).kind).toBe(
      'Vonage Client SDK token',
    );
    const publicFile = join(dir, 'vonage-public.pem');
    writeFileSync(
      publicFile,
      createPublicKey(vonagePem).export({ type: 'spki', format: 'pem' }),
    );
    const pub = await cli([
      'token',
      'vonage',
      '--application-id',
      'app-1',
      '--key',
      publicFile,
    ]);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toMatch(
      /--key: is a public key; a private key is needed/,
    );
    const ec = join(dir, 'ec.pem');
    writeFileSync(
      ec,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }),
    );
    secrets.push(...pemBody(readFileSync(ec, 'utf8')));
    const wrongType = await cli([
      'token',
      'vonage',
      '--application-id',
      'app-1',
      '--key',
      ec,
    ]);
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toMatch(/--key: does not fit RS256/);
    const ttl = await cli([
      'token',
      'vonage',
      '--application-id',
      'app-1',
      '--key',
      vonageKey(),
      '--ttl',
      '100000',
    ]);
    expect(ttl.code).toBe(1);
    const acl = await cli([
      'token',
      'vonage',
      '--application-id',
      'app-1',
      '--key',
      vonageKey(),
      '--acl',
      'everything',
    ]);
    expect(acl.code).toBe(2);
  });

  it('inspect: header, claims, times as dates; an expired token says so; it never calls a token valid', async () => {
    const key = join(dir, 'inspect-key.pem');
    await cli(['keys', 'service', '--out', key]);
    secrets.push(...pemBody(readFileSync(key, 'utf8')));
    const mint = async (ttl: string) =>
      (
        await cli([
          'token',
          'service',
          '--key',
          key,
          '--iss',
          ISS,
          '--sub',
          'svc',
          '--ttl',
          ttl,
        ])
      ).stdout.trim();
    const fresh = await cli(['inspect', await mint('3600')]);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/^kind:\s+service token/);
    expect(fresh.stdout).toMatch(
      /exp:\s+\d{4}-\d\d-\d\dT[\d:.]+Z \(expires in (1 h|59 min \d+ s)\)/,
    );
    expect(fresh.stdout).toMatch(
      /iat:\s+\d{4}-\d\d-\d\dT[\d:.]+Z \(issued \d s ago\)/,
    );
    const token = await mint('1');
    expect(fresh.stdout).not.toMatch(/\bvalid\b/i);
    expect(fresh.stderr).toMatch(/Not verified: inspect only decodes/);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await cli(['inspect', token, '--json']);
    expect(json(expired).times.exp.relative).toMatch(/^expired \d s ago$/);
    expect(json(expired).verified).toBe(false);
    const other = await cli([
      'inspect',
      `${Buffer.from('{"alg":"HS512"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`,
      '--json',
    ]);
    expect(json(other).kind).toBe('JWT');
  }, 30_000);

  it('inspect refuses garbage and truncated tokens (exit 1), warns about a cut signature, and reads stdin', async () => {
    const key = join(dir, 'inspect-key.pem');
    const token = (
      await cli([
        'token',
        'service',
        '--key',
        key,
        '--iss',
        ISS,
        '--sub',
        'svc',
        '--alg',
        'RS256',
      ])
    ).stdout.trim();
    const [h, p, s] = token.split('.');
    for (const bad of [
      'garbage',
      'a.b',
      `${h}.${p.slice(0, -9)}.${s}`,
      `${h}.!!!.${s}`,
      `${'x'.repeat(70_000)}.a.b`,
    ]) {
      const run = await cli(['inspect', bad]);
      expect(run.code, bad.slice(0, 30)).toBe(1);
      expect(run.stderr).toMatch(/not a JWT/);
      expect(run.stdout).toBe('');
    }
    const es = (
      await cli([
        'token',
        'service',
        '--key',
        join(dir, 'service-key.pem'),
        '--iss',
        ISS,
        '--sub',
        'svc',
      ])
    ).stdout.trim();
    const cut = es.slice(0, -10);
    const warned = await cli(['inspect', cut]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(
      /the signature is \d+ bytes; ES256 signatures are 64: the token looks truncated/,
    );
    const piped = await cli(['inspect'], { stdin: `${token}\n` });
    expect(piped.code).toBe(0);
    const nothing = await cli(['inspect', '-'], { stdin: '' });
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/ERR_JWT_ISSUER_TOKEN_MISSING/);
  });
});

describe('check: the same problems as JwtIssuerModule for the same environment', () => {
  const cases: [string, Record<string, string>, string[]][] = [
    [
      'a typo, an invalid nkey, a half-configured service, a missing key file, two required capabilities',
      {
        JWT_ISSUER_SERVCE_NAME: 'orders',
        JWT_ISSUER_NATS_ACCOUNT_ID: 'not-a-key',
        JWT_ISSUER_SERVICE_NAME: 'orders',
        JWT_ISSUER_VONAGE_PRIVATE_KEY: '/nope/vonage.pem',
        JWT_ISSUER_SEALD_PERMISSIONS: '3,x',
      },
      ['vonage', 'nats', 'service.verify'],
    ],
    [
      'production without a service key',
      {
        NODE_ENV: 'production',
        JWT_ISSUER_SERVICE_NAME: 'orders',
        JWT_ISSUER_SERVICE_ISSUER: 'https://orders.internal',
      },
      [],
    ],
  ];

  it.each(cases)('%s', async (_name, vars, required) => {
    const expected = await moduleProblems(vars, required);
    expect(expected?.length).toBeGreaterThan(0);
    const run = await cli(
      ['check', '--json', ...required.flatMap((r) => ['--require', r])],
      { env: vars },
    );
    expect(run.code).toBe(1);
    expect(json(run)).toMatchObject({
      ok: false,
      code: 'ERR_JWT_ISSUER_CONFIG_INVALID',
    });
    expect(json(run).problems).toEqual(expected);
    const human = await cli(
      ['check', ...required.flatMap((r) => ['--require', r])],
      { env: vars },
    );
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(
      new RegExp(
        `^Invalid nest-jwt-issuer configuration \\(${expected!.length} problems?\\):`,
      ),
    );
    for (const p of expected as { path: string; message: string }[]) {
      expect(human.stdout).toContain(`  - ${p.path}`);
    }
  });

  it('reads a .env file as ConfigModule.forRoot() does (the environment wins); exit 0 lists the capabilities; no secret printed', async () => {
    const project = join(dir, 'project');
    mkdirSync(project, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    secrets.push(secret);
    writeFileSync(
      join(project, '.env'),
      `JWT_ISSUER_SEALD_SECRET_ID=sid\nJWT_ISSUER_SEALD_SECRET=${secret}\nJWT_ISSUER_VONAGE_APPLICATION_ID=from-file\n`,
    );
    // The environment's empty value does not hide the file; its set value wins over the file.
    const run = await cli(['check'], {
      cwd: project,
      env: { JWT_ISSUER_VONAGE_DEFAULT_TTL: 'soon' },
    });
    const expected = await moduleProblems({
      JWT_ISSUER_SEALD_SECRET_ID: 'sid',
      JWT_ISSUER_SEALD_SECRET: secret,
      JWT_ISSUER_VONAGE_APPLICATION_ID: 'from-file',
      JWT_ISSUER_VONAGE_DEFAULT_TTL: 'soon',
    });
    expect(run.code).toBe(1);
    for (const p of expected as { path: string }[])
      expect(run.stdout).toContain(`  - ${p.path}`);
    const good = await cli(
      ['check', '--env-file', join(project, '.env'), '--json'],
      {
        cwd: dir,
        env: { JWT_ISSUER_VONAGE_APPLICATION_ID: '' },
      },
    );
    // An empty variable in the environment hides the file's value (ConfigModule: the environment wins).
    expect(json(good).capabilities).toMatchObject({
      seald: 'on',
      vonage: 'off',
    });
    writeFileSync(
      join(project, 'seald.env'),
      `JWT_ISSUER_SEALD_SECRET_ID=sid\nJWT_ISSUER_SEALD_SECRET=${secret}\n`,
    );
    const ok = await cli(['check', '--env-file', join(project, 'seald.env')], {
      cwd: dir,
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^nats {5}off\nservice {2}off\nseald {4}on\nvonage {3}off\nNo problems\.\n$/,
    );
    const missing = await cli([
      'check',
      '--env-file',
      join(project, 'none.env'),
    ]);
    // Node itself reads a script's `--env-file` argument on some versions (nodejs/node#54232) and exits 9 when
    // the file is missing, before the CLI runs; otherwise the CLI refuses with 1.
    expect([1, 9]).toContain(missing.code);
    expect(missing.stderr).toMatch(/does not exist|not found/);
  });
});

describe('docs/cli.md: the blocks marked `bash tested` run as written', () => {
  it('runs each in one empty folder, with nest-jwt-issuer on PATH, and prints the lines the page shows', async () => {
    const page = readFileSync(
      join(import.meta.dirname, '..', '..', 'docs', 'cli.md'),
      'utf8',
    );
    const bin = join(dir, 'docs-bin');
    const work = join(dir, 'docs-run');
    mkdirSync(bin, { recursive: true });
    mkdirSync(work, { recursive: true });
    chmodSync(main, 0o755);
    symlinkSync(main, join(bin, 'nest-jwt-issuer'));
    const blocks = [
      ...page.matchAll(
        /^```bash tested( exit=(\d))?\n([\s\S]*?)^```\n(?:\n```text\n([\s\S]*?)^```$)?/gm,
      ),
    ];
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const [, , exit, commands, expected] of blocks) {
      const run = await new Promise<CliRun>((resolve) => {
        execFile(
          'bash',
          ['-o', 'pipefail', '-c', `set -e\n${commands}`],
          {
            cwd: work,
            env: { ...cleanEnv(), PATH: `${bin}:${process.env.PATH}` },
          },
          (error, stdout, stderr) =>
            resolve({
              code: error ? ((error as { code?: number }).code ?? 1) : 0,
              stdout,
              stderr,
              ms: 0,
            }),
        );
      });
      for (const secret of secrets)
        expect(run.stdout + run.stderr).not.toContain(secret);
      expect(run.code, `${commands}\n${run.stderr}`).toBe(Number(exit ?? 0));
      for (const line of (expected ?? '')
        .split('\n')
        .filter((l) => l.trim() !== '')) {
        expect(run.stdout, commands).toContain(line);
      }
    }
    for (const f of [
      'orders-key.pem',
      'alice.creds',
      'nats-dev/signing-key.nk',
    ]) {
      expect(statSync(join(work, f)).mode & 0o777, f).toBe(0o600);
    }
  });
});
