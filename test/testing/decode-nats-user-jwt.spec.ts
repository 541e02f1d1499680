import { createUser } from '@nats-io/nkeys';
import { connect, jwtAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserJwt, JwtIssuerError } from '../../lib/index.js';
import {
  createNatsDevelopmentAccount,
  decodeNatsUserJwt,
  MAX_NATS_JWT_BYTES,
} from '../../lib/testing/index.js';
import {
  type RunningNatsServer,
  startNatsServer,
} from '../support/nats-server.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const dev = createNatsDevelopmentAccount({
  accountName: 'SHOP',
  template: {
    pub: {
      allow: [
        'users.{{name()}}.>',
        'teams.{{tag(team)}}.>',
        'keys.{{subject()}}',
        'acct.{{account-name()}}.>',
        'regions.{{tag(region)}}.>',
      ],
      deny: ['users.{{name()}}.secret'],
    },
    sub: { allow: ['_INBOX.>'] },
    subs: -1,
    data: -1,
    payload: -1,
  },
});

function user(name: string, tags?: string[]) {
  const kp = createUser();
  const publicKey = kp.getPublicKey();
  const jwt = issueUserJwt({
    signingKey: dev.moduleOptions.signingKey,
    accountId: dev.account.publicKey,
    accountJwt: dev.account.jwt,
    publicUserKey: publicKey,
    name,
    tags,
    expiresIn: 300,
  });
  return { publicKey, seed: text(kp.getSeed()), jwt };
}

describe('decodeNatsUserJwt: the claims of a NATS user JWT and the permissions a server applies', () => {
  let server: RunningNatsServer;
  beforeAll(async () => {
    server = await startNatsServer(dev.serverConfig({ port: -1 }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('expands the scope template with the user name, subject, tags (one subject per value) and account name', () => {
    const alice = user('alice', ['team:blue', 'team:red']);
    const decoded = decodeNatsUserJwt(alice.jwt, {
      accountJwt: dev.account.jwt,
    });
    expect(decoded.header).toEqual({ typ: 'JWT', alg: 'ed25519-nkey' });
    expect(decoded.claims).toMatchObject({
      sub: alice.publicKey,
      iss: dev.signingKey.publicKey,
      name: 'alice',
      nats: {
        type: 'user',
        version: 2,
        issuer_account: dev.account.publicKey,
        tags: ['team:blue', 'team:red'],
      },
    });
    expect(decoded.signingKey).toBe('scoped');
    expect(decoded.permissions).toEqual({
      pub: {
        // regions.{{tag(region)}}.> is dropped: alice has no region tag.
        allow: [
          'users.alice.>',
          'teams.blue.>',
          'teams.red.>',
          `keys.${alice.publicKey}`,
          'acct.SHOP.>',
        ],
        deny: ['users.alice.secret'],
      },
      sub: { allow: ['_INBOX.>'] },
      subs: -1,
      data: -1,
      payload: -1,
    });
    // Without the account JWT: claims only.
    const bare = decodeNatsUserJwt(alice.jwt);
    expect(bare.signingKey).toBe('unknown');
    expect(bare.permissions).toBeUndefined();
  });

  it('says what a real nats-server enforces for the same user (publish allowed and refused subjects)', async () => {
    const alice = user('alice', ['team:blue', 'team:red']);
    const { permissions } = decodeNatsUserJwt(alice.jwt, {
      accountJwt: dev.account.jwt,
    });
    const allowed = permissions!.pub!.allow!.map((s) => s.replace(/>$/, 'x'));
    const refused = [
      'users.alice.secret',
      'users.bob.x',
      'teams.green.x',
      'regions.eu.x',
      'acct.OTHER.x',
    ];
    const nc = await connect({
      servers: server.url,
      authenticator: jwtAuthenticator(
        alice.jwt,
        new TextEncoder().encode(alice.seed),
      ),
    });
    try {
      const errors: string[] = [];
      void (async () => {
        for await (const s of nc.status())
          if (s.type === 'error') errors.push(s.error.message);
      })();
      for (const subject of [...allowed, ...refused]) nc.publish(subject, 'x');
      await nc.flush();
      await nc.flush();
      const violations = errors
        .map((e) => /Publish to "([^"]+)"/.exec(e)?.[1])
        .filter(Boolean);
      expect(violations.toSorted()).toEqual(refused.toSorted());
    } finally {
      await nc.close();
    }
  });

  it('with the default development template, as docs/testing.md shows', () => {
    const plain = createNatsDevelopmentAccount();
    const kp = createUser();
    const jwt = issueUserJwt({
      signingKey: plain.moduleOptions.signingKey,
      accountId: plain.account.publicKey,
      publicUserKey: kp.getPublicKey(),
      name: 'alice',
      tags: ['team:blue'],
    });
    const { permissions } = decodeNatsUserJwt(jwt, {
      accountJwt: plain.account.jwt,
    });
    expect(permissions?.pub?.allow).toEqual(['users.alice.>', 'teams.blue.>']);
    expect(permissions?.sub?.allow).toEqual([
      'users.alice.>',
      'teams.blue.>',
      '_INBOX.>',
    ]);
  });

  it('an allow list that templating empties becomes "deny >", as on the server', () => {
    const only = createNatsDevelopmentAccount({
      template: { pub: { allow: ['regions.{{tag(region)}}.>'] } },
    });
    const kp = createUser();
    const jwt = issueUserJwt({
      signingKey: only.moduleOptions.signingKey,
      accountId: only.account.publicKey,
      publicUserKey: kp.getPublicKey(),
      name: 'bob',
    });
    expect(
      decodeNatsUserJwt(jwt, { accountJwt: only.account.jwt }).permissions?.pub,
    ).toEqual({ allow: [], deny: ['>'] });
  });

  it('a deny subject that cannot be expanded: the decoder refuses the user, as the server does', async () => {
    const strict = createNatsDevelopmentAccount({
      template: {
        pub: { allow: ['>'], deny: ['regions.{{tag(region)}}.>'] },
        sub: { allow: ['>'] },
        subs: -1,
        data: -1,
        payload: -1,
      },
    });
    const kp = createUser();
    const jwt = issueUserJwt({
      signingKey: strict.moduleOptions.signingKey,
      accountId: strict.account.publicKey,
      publicUserKey: kp.getPublicKey(),
      name: 'carol',
    });
    expect(() =>
      decodeNatsUserJwt(jwt, { accountJwt: strict.account.jwt }),
    ).toThrow(
      /a server refuses this user: User JWT generated invalid permissions/,
    );
    const strictServer = await startNatsServer(
      strict.serverConfig({ port: -1 }),
    );
    try {
      await expect(
        connect({
          servers: strictServer.url,
          authenticator: jwtAuthenticator(jwt, kp.getSeed()),
          reconnect: false,
        }),
      ).rejects.toThrow(/Authorization Violation/i);
      await strictServer.waitForLog(/generated invalid permissions/);
    } finally {
      await strictServer.stop();
    }
  });

  it('refuses what is not a signed user JWT with a JwtIssuerError that never quotes the token', () => {
    const alice = user('alice');
    const [h, b, s] = alice.jwt.split('.');
    const tampered = `${h}.${Buffer.from(
      Buffer.from(b, 'base64url').toString().replace('alice', 'admin'),
    ).toString('base64url')}.${s}`;
    const cases: [string, RegExp][] = [
      [tampered, /TOKEN_SIGNATURE_INVALID/],
      ['x'.repeat(MAX_NATS_JWT_BYTES + 1), /TOKEN_TOO_LARGE/],
      ['a.b', /TOKEN_MALFORMED/],
      [dev.account.jwt, /TOKEN_MALFORMED/], // an account JWT, not a user JWT
      [`${h}.${b}.`, /TOKEN_MALFORMED/],
    ];
    for (const [input, code] of cases) {
      let error: unknown;
      try {
        decodeNatsUserJwt(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(JwtIssuerError);
      expect((error as JwtIssuerError).code).toMatch(code);
      expect((error as Error).message).not.toContain(input.slice(0, 40));
    }
    const other = createNatsDevelopmentAccount();
    expect(() =>
      decodeNatsUserJwt(alice.jwt, { accountJwt: other.account.jwt }),
    ).toThrow(JwtIssuerError);
  });

  it('under a seeded mutation fuzzer (20,000 mutations): throws nothing but JwtIssuerError, accepts only the signed bytes', () => {
    const alice = user('alice', ['team:blue']);
    let state = 20261201;
    const rand = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const alphabet =
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u0141{}"';
    const codes = new Map<string, number>();
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let t = alice.jwt;
      for (let m = 1 + rand(3); m > 0; m--) {
        const at = rand(t.length + 1);
        const c = alphabet[rand(alphabet.length)];
        const op = rand(3);
        t =
          op === 0
            ? t.slice(0, at) + c + t.slice(at + 1)
            : op === 1
              ? t.slice(0, at) + c + t.slice(at)
              : t.slice(0, at) + t.slice(at + 1);
      }
      try {
        decodeNatsUserJwt(t, { accountJwt: dev.account.jwt });
        accepted++;
        expect(t).toBe(alice.jwt);
      } catch (e) {
        if (!(e instanceof JwtIssuerError)) throw e;
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
    }
    expect([...codes.keys()]).toEqual(
      expect.arrayContaining([
        'ERR_JWT_ISSUER_TOKEN_MALFORMED',
        'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
      ]),
    );
    expect(accepted).toBeLessThan(20_000);
  });
});
