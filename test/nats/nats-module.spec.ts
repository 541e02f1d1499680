import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { createAccount, createUser, fromSeed } from '@nats-io/nkeys';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createNatsDevelopmentAccount,
  JwtIssuerConfigError,
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
  type NatsDevelopmentAccount,
  NatsUserJwtService,
} from '../../lib/index.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function boot(
  options: JwtIssuerModuleOptions,
): Promise<NatsUserJwtService> {
  const moduleRef = await Test.createTestingModule({
    imports: [JwtIssuerModule.forRoot(options)],
  }).compile();
  return moduleRef.get(NatsUserJwtService);
}

async function configError(
  options: JwtIssuerModuleOptions,
): Promise<JwtIssuerConfigError> {
  const err = await boot(options).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(JwtIssuerConfigError);
  return err as JwtIssuerConfigError;
}

function body(
  jwt: string,
): Record<string, unknown> & { nats: Record<string, unknown> } {
  return JSON.parse(
    Buffer.from(jwt.split('.')[1], 'base64url').toString(),
  ) as never;
}

const ENV_KEYS = [
  'JWT_ISSUER_NATS_ACCOUNT_ID',
  'JWT_ISSUER_NATS_SIGNING_KEY',
  'JWT_ISSUER_NATS_EXPIRES_IN',
  'JWT_ISSUER_NATS_ACCOUNT_JWT',
];

describe('JwtIssuerModule nats section', () => {
  afterEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
  });

  it('provides NatsUserJwtService from explicit options; the account JWT tells it the key is scoped and its template', async () => {
    const dev = createNatsDevelopmentAccount();
    const nats = await boot({
      ignoreEnvVars: true,
      nats: { ...dev.moduleOptions, expiresIn: 120 },
    });
    expect(nats.accountId).toBe(dev.account.publicKey);
    expect(nats.signingPublicKey).toBe(dev.signingKey.publicKey);
    expect(nats.signingKeyScope).toBe('scoped');
    expect(nats.scopeRole).toBe('users');
    expect(nats.scopeTemplate).toEqual(dev.template);
    const user = createUser().getPublicKey();
    const claims = body(
      nats.issueUserJwt({
        publicUserKey: user,
        name: 'alice',
        tags: ['team:blue'],
      }),
    );
    expect(claims).toMatchObject({
      iss: dev.signingKey.publicKey,
      sub: user,
      name: 'alice',
    });
    expect(claims.exp).toBe((claims.iat as number) + 120);
    expect(claims.nats).toEqual({
      issuer_account: dev.account.publicKey,
      tags: ['team:blue'],
      type: 'user',
      version: 2,
    });
    const err = (() => {
      try {
        nats.issueUserJwt({
          publicUserKey: user,
          permissions: { pub: { allow: ['>'] } },
        });
      } catch (e) {
        return e as JwtIssuerError;
      }
    })();
    expect(err?.code).toBe(JwtIssuerErrorCode.SCOPED_KEY_PERMISSIONS);
    expect(() => nats.createUser({ limits: { subs: 1 } })).toThrow(
      /scoped signing key/,
    );
  });

  it('createUser returns a fresh user nkey, its JWT and creds', async () => {
    const dev = createNatsDevelopmentAccount();
    const nats = await boot({ ignoreEnvVars: true, nats: dev.moduleOptions });
    const u = nats.createUser({ name: 'bob' });
    expect(u.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
    expect(u.seed).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(body(u.jwt)).toMatchObject({ sub: u.publicKey, name: 'bob' });
    expect(body(u.jwt).exp).toBeUndefined();
    expect(u.creds).toContain(
      `-----BEGIN NATS USER JWT-----\n${u.jwt}\n------END NATS USER JWT------`,
    );
    expect(u.creds).toContain(
      `-----BEGIN USER NKEY SEED-----\n${u.seed}\n------END USER NKEY SEED------`,
    );
    expect(nats.createUser().publicKey).not.toBe(u.publicKey);
    expect(() => nats.createUser(null as never)).toThrow(
      /^options: must be an object/,
    );
    expect(() => nats.issueUserJwt(undefined as never)).toThrow(
      /^publicUserKey: is required/,
    );
  });

  it('reads its settings from JWT_ISSUER_NATS_* environment variables', async () => {
    const dev = createNatsDevelopmentAccount();
    process.env.JWT_ISSUER_NATS_ACCOUNT_ID = dev.account.publicKey;
    process.env.JWT_ISSUER_NATS_SIGNING_KEY = dev.signingKey.seed;
    process.env.JWT_ISSUER_NATS_EXPIRES_IN = '90';
    process.env.JWT_ISSUER_NATS_ACCOUNT_JWT = dev.account.jwt;
    const nats = await boot({});
    expect(nats.signingKeyScope).toBe('scoped');
    const claims = body(
      nats.issueUserJwt({ publicUserKey: createUser().getPublicKey() }),
    );
    expect(claims.exp).toBe((claims.iat as number) + 90);
    // explicit options override env key by key
    const other = await boot({ nats: { expiresIn: 30 } });
    const c2 = body(
      other.issueUserJwt({ publicUserKey: createUser().getPublicKey() }),
    );
    expect(c2.exp).toBe((c2.iat as number) + 30);
    expect(c2.iss).toBe(dev.signingKey.publicKey);
  });

  it('reports every problem at once, naming options and env vars, never quoting the seed', async () => {
    const userSeed = text(createUser().getSeed());
    process.env.JWT_ISSUER_NATS_SIGNING_KEY = userSeed;
    process.env.JWT_ISSUER_NATS_EXPIRES_IN = 'soon';
    const err = await configError({
      nats: {
        accountId: createUser().getPublicKey(),
        accountJwt: 'x',
        colour: 'blue',
      } as never,
    });
    const byPath = Object.fromEntries(err.problems.map((p) => [p.path, p]));
    expect(Object.keys(byPath).toSorted()).toEqual([
      'nats.accountId',
      'nats.colour',
      'nats.expiresIn',
      'nats.signingKey',
    ]);
    expect(byPath['nats.signingKey']).toMatchObject({
      env: 'JWT_ISSUER_NATS_SIGNING_KEY',
      message: 'is a user seed; an account seed (SA…) is needed',
    });
    expect(byPath['nats.accountId'].env).toBe('JWT_ISSUER_NATS_ACCOUNT_ID');
    expect(byPath['nats.accountId'].message).toMatch(
      /user key; an account key/,
    );
    expect(byPath['nats.expiresIn'].env).toBe('JWT_ISSUER_NATS_EXPIRES_IN');
    expect(err.message).toContain(
      'nats.signingKey (JWT_ISSUER_NATS_SIGNING_KEY): is a user seed',
    );
    expect(err.message).not.toContain(userSeed);
    expect(JSON.stringify(err.problems)).not.toContain(userSeed);
  });

  it('reports a missing account and signing key', async () => {
    const err = await configError({ ignoreEnvVars: true, nats: {} });
    expect(err.problems.map((p) => `${p.path} ${p.env}`).toSorted()).toEqual([
      'nats.accountId JWT_ISSUER_NATS_ACCOUNT_ID',
      'nats.signingKey JWT_ISSUER_NATS_SIGNING_KEY',
    ]);
  });

  it('checks the account JWT: its subject, its signing keys, its signature', async () => {
    const dev = createNatsDevelopmentAccount();
    const other = createNatsDevelopmentAccount();
    const cases: [Record<string, string>, RegExp][] = [
      [{ accountJwt: other.account.jwt }, /subject is another account/],
      [
        { signingKey: text(createAccount().getSeed()) },
        /not one of the account's signing keys/,
      ],
      [{ accountJwt: tamper(dev.account.jwt) }, /signature does not verify/],
      [{ accountJwt: 'not-a-jwt' }, /not a compact JWT/],
      [{ accountJwt: dev.operator.jwt }, /not an account JWT/],
      [
        {
          accountJwt: withHeader(dev.account.jwt, { typ: 'JWT', alg: 'none' }),
        },
        /header alg must be "ed25519-nkey"/,
      ],
      [{ accountJwt: resigned(dev, { exp: 1000 }) }, /has expired/],
      [
        { accountJwt: resigned(dev, {}, createAccount()) },
        /signature does not verify/,
      ],
    ];
    for (const [change, message] of cases) {
      const err = await configError({
        ignoreEnvVars: true,
        nats: { ...dev.moduleOptions, ...change },
      });
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatchObject({
        path: 'nats.accountJwt',
        env: 'JWT_ISSUER_NATS_ACCOUNT_JWT',
      });
      expect(err.problems[0].message).toMatch(message);
      expect(err.message).not.toContain(dev.signingKey.seed);
    }
  });

  it('accepts the account key itself as signing key (non-scoped)', async () => {
    const dev = createNatsDevelopmentAccount();
    const nats = await boot({
      ignoreEnvVars: true,
      nats: { ...dev.moduleOptions, signingKey: dev.account.seed },
    });
    expect(nats.signingKeyScope).toBe('unscoped');
    expect(
      body(nats.issueUserJwt({ publicUserKey: createUser().getPublicKey() }))
        .nats,
    ).toMatchObject({
      subs: -1,
      data: -1,
      payload: -1,
    });
  });

  it('without a nats section, injecting works and using the service says what to set', async () => {
    const nats = await boot({ ignoreEnvVars: true });
    expect(() => nats.createUser()).toThrow(JwtIssuerError);
    expect(() => nats.createUser()).toThrow(
      /JWT_ISSUER_NATS_ACCOUNT_ID and JWT_ISSUER_NATS_SIGNING_KEY/,
    );
  });
});

function withHeader(jwt: string, header: object): string {
  const [, b, s] = jwt.split('.');
  return `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${b}.${s}`;
}

/** The account JWT with claims changed, signed again by the operator (or by another key posing as it). */
function resigned(
  dev: NatsDevelopmentAccount,
  change: Record<string, unknown>,
  signer = fromSeed(new TextEncoder().encode(dev.operator.seed)),
): string {
  const [h, b] = dev.account.jwt.split('.');
  const claims = {
    ...(JSON.parse(Buffer.from(b, 'base64url').toString()) as object),
    ...change,
  };
  const input = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${Buffer.from(signer.sign(new TextEncoder().encode(input))).toString('base64url')}`;
}

function tamper(jwt: string): string {
  const [h, b, s] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(b, 'base64url').toString()) as {
    name: string;
  };
  claims.name = 'tampered';
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}
