import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { createUser } from '@nats-io/nkeys';
import {
  connect,
  jwtAuthenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueUserJwt,
  JwtIssuerErrorCode,
  JwtIssuerModule,
  type NatsIssueUserJwtOptions,
  NatsUserJwtService,
} from '../../lib/index.js';
import {
  type RunningNatsServer,
  startNatsServer,
} from '../support/nats-server.js';
import {
  independentNatsSetup,
  type IndependentNatsSetup,
} from '../support/nats-setup.js';
import { errorOf, handSignUserJwt } from './nats-test-kit.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function newUser(): { publicKey: string; seed: string } {
  const kp = createUser();
  return { publicKey: kp.getPublicKey(), seed: text(kp.getSeed()) };
}

async function service(nats: {
  accountId: string;
  signingKey: string;
  accountJwt?: string;
}): Promise<NatsUserJwtService> {
  const moduleRef = await Test.createTestingModule({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, nats })],
  }).compile();
  return moduleRef.get(NatsUserJwtService);
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const UNSAFE_NAMES: [string, string, RegExp][] = [
  ['a wildcard', '*', /^name: contains "\*", a NATS wildcard/],
  ['a full wildcard', '>', /^name: contains ">", a NATS wildcard/],
  ['a wildcard inside', 'a*', /^name: contains "\*"/],
  ['a token separator', 'eve.x', /^name: contains "\.", the subject token/],
  ['a leading separator', '.eve', /^name: contains "\."/],
  ['a space', 'alice smith', /^name: contains whitespace/],
  ['a tab', 'alice\tsmith', /^name: contains whitespace/],
  ['a newline', 'alice\n', /^name: contains whitespace/],
  ['a non-breaking space', 'alice\u00a0smith', /^name: contains whitespace/],
  ['a NUL', 'alice\u0000', /^name: contains a control character/],
  ['a DEL', 'alice\u007f', /^name: contains a control character/],
];

const UNSAFE_TAGS: [string, string, RegExp][] = [
  ['a wildcard value', 'team:*', /^tags\[1\]: contains "\*", a NATS wildcard/],
  ['a full wildcard value', 'team:>', /^tags\[1\]: contains ">"/],
  ['a value with a separator', 'team:blue.x', /^tags\[1\]: contains "\."/],
  ['a value with a space', 'team:blue x', /^tags\[1\]: contains whitespace/],
  ['an empty value', 'team:', /^tags\[1\]: has an empty value after ":"/],
  ['a control character', 'team:\u0001', /^tags\[1\]: contains a control/],
];

describe('names and tags that would widen rights through a scoped key template are refused', () => {
  let setup: IndependentNatsSetup;
  beforeAll(async () => {
    setup = await independentNatsSetup();
  });
  const user = createUser().getPublicKey();

  it.each(UNSAFE_NAMES)(
    'issueUserJwt refuses a name with %s, naming the argument and why, never quoting it',
    (_, name, message) => {
      const e = errorOf(() =>
        issueUserJwt({
          signingKey: setup.scopedSeed,
          accountId: setup.accountId,
          publicUserKey: user,
          name,
        }),
      );
      expect(e.code).toBe(JwtIssuerErrorCode.UNSAFE_TEMPLATE_VALUE);
      expect(e.code).toBe('ERR_JWT_ISSUER_UNSAFE_TEMPLATE_VALUE');
      expect(e.message).toMatch(message);
      expect(e.message).toMatch(/valuesNotInTemplate: \['name'\]/);
      if (name.length > 1) expect(e.message).not.toContain(name);
    },
  );

  it.each(UNSAFE_TAGS)(
    'issueUserJwt refuses a tag with %s',
    (_, tag, message) => {
      const e = errorOf(() =>
        issueUserJwt({
          signingKey: setup.scopedSeed,
          accountId: setup.accountId,
          publicUserKey: user,
          tags: ['team:blue', tag],
        }),
      );
      expect(e.code).toBe(JwtIssuerErrorCode.UNSAFE_TEMPLATE_VALUE);
      expect(e.message).toMatch(message);
      expect(e.message).toMatch(/valuesNotInTemplate: \['tags'\]/);
    },
  );

  it('accepts ordinary names and tags: letters of any script, digits, - _ @ + : $ and case', () => {
    for (const name of [
      'alice',
      'Alice_01',
      'alice@example-com',
      'jürgen',
      '山田',
      'a-b+c$d',
    ]) {
      expect(() =>
        issueUserJwt({
          signingKey: setup.scopedSeed,
          accountId: setup.accountId,
          publicUserKey: user,
          name,
          tags: ['team:blue', 'role:ops:night', 'label'],
        }),
      ).not.toThrow();
    }
  });

  it('valuesNotInTemplate is an explicit per-value opt-out, and is itself validated', () => {
    const base = {
      signingKey: setup.scopedSeed,
      accountId: setup.accountId,
      publicUserKey: user,
    };
    expect(() =>
      issueUserJwt({
        ...base,
        name: 'alice@example.com',
        valuesNotInTemplate: ['name'],
      }),
    ).not.toThrow();
    // opting out of names does not opt out of tags
    expect(
      errorOf(() =>
        issueUserJwt({
          ...base,
          name: 'alice@example.com',
          tags: ['team:*'],
          valuesNotInTemplate: ['name'],
        }),
      ).code,
    ).toBe(JwtIssuerErrorCode.UNSAFE_TEMPLATE_VALUE);
    expect(() =>
      issueUserJwt({
        ...base,
        tags: ['team:*'],
        valuesNotInTemplate: ['tags'],
      }),
    ).not.toThrow();
    for (const bad of ['name', ['nom'], [1], {}]) {
      const e = errorOf(() =>
        issueUserJwt({
          ...base,
          valuesNotInTemplate: bad as never,
        }),
      );
      expect(e.code).toBe(JwtIssuerErrorCode.INVALID_ARGUMENT);
      expect(e.message).toMatch(/^valuesNotInTemplate: /);
    }
  });

  it('issueUserJwt with accountJwt: a non-scoped key takes any name and tag (labels); a scoped key still refuses', () => {
    const jwt = issueUserJwt({
      signingKey: setup.unscopedSeed,
      accountId: setup.accountId,
      accountJwt: setup.accountJwt,
      publicUserKey: user,
      name: 'Alice Smith <alice@example.com>',
      tags: ['team:*', 'free text'],
    });
    const body = JSON.parse(
      Buffer.from(jwt.split('.')[1], 'base64url').toString(),
    ) as { name: string; nats: Record<string, unknown> };
    expect(body.name).toBe('Alice Smith <alice@example.com>');
    // known non-scoped: the Go model with its -1 limits, which a scoped key's server would refuse
    expect(body.nats).toMatchObject({ subs: -1, data: -1, payload: -1 });
    expect(
      errorOf(() =>
        issueUserJwt({
          signingKey: setup.scopedSeed,
          accountId: setup.accountId,
          accountJwt: setup.accountJwt,
          publicUserKey: user,
          name: '*',
        }),
      ).code,
    ).toBe(JwtIssuerErrorCode.UNSAFE_TEMPLATE_VALUE);
    // and the scoped key's permissions are refused too, now that the scope is known
    expect(
      errorOf(() =>
        issueUserJwt({
          signingKey: setup.scopedSeed,
          accountId: setup.accountId,
          accountJwt: setup.accountJwt,
          publicUserKey: user,
          limits: {},
        }),
      ).code,
    ).toBe(JwtIssuerErrorCode.SCOPED_KEY_PERMISSIONS);
  });

  it('issueUserJwt refuses an accountJwt of another account or not listing the key, naming accountJwt', () => {
    for (const [signingKey, accountId] of [
      [setup.otherScopedSeed, setup.otherAccountId],
      [setup.strangerSeed, setup.accountId],
    ]) {
      const e = errorOf(() =>
        issueUserJwt({
          signingKey,
          accountId,
          accountJwt: setup.accountJwt,
          publicUserKey: user,
        }),
      );
      expect(e.code).toBe(JwtIssuerErrorCode.ACCOUNT_JWT_INVALID);
      expect(e.message).toMatch(/^accountJwt: /);
    }
  });

  it('NatsUserJwtService.issueUserJwt and createUser refuse them for a scoped or unknown key, allow them for a non-scoped one', async () => {
    const scoped = await service({
      accountId: setup.accountId,
      signingKey: setup.scopedSeed,
      accountJwt: setup.accountJwt,
    });
    const unknown = await service({
      accountId: setup.accountId,
      signingKey: setup.scopedSeed,
    });
    const unscoped = await service({
      accountId: setup.accountId,
      signingKey: setup.unscopedSeed,
      accountJwt: setup.accountJwt,
    });
    expect([
      scoped.signingKeyScope,
      unknown.signingKeyScope,
      unscoped.signingKeyScope,
    ]).toEqual(['scoped', 'unknown', 'unscoped']);
    const calls: [string, (o: NatsIssueUserJwtOptions) => unknown][] = [
      ['issueUserJwt', (o) => scoped.issueUserJwt(o)],
      ['createUser', (o) => scoped.createUser(o)],
      ['issueUserJwt (unknown)', (o) => unknown.issueUserJwt(o)],
      ['createUser (unknown)', (o) => unknown.createUser(o)],
    ];
    for (const [, call] of calls) {
      for (const o of [{ name: '*' }, { tags: ['team:>'] }]) {
        const e = errorOf(() => call({ publicUserKey: user, ...o }));
        expect(e.code).toBe(JwtIssuerErrorCode.UNSAFE_TEMPLATE_VALUE);
      }
      expect(() =>
        call({
          publicUserKey: user,
          name: 'bob.x',
          valuesNotInTemplate: ['name'],
        }),
      ).not.toThrow();
    }
    expect(unscoped.createUser({ name: '*', tags: ['team:*'] }).jwt).toMatch(
      /\./,
    );
    expect(() =>
      unscoped.issueUserJwt({ publicUserKey: user, name: 'bob.x' }),
    ).not.toThrow();
  });
});

describe('against a real nats-server: the refused values would have widened rights (hand-signed tokens prove it)', () => {
  let setup: IndependentNatsSetup;
  let server: RunningNatsServer;
  const open: NatsConnection[] = [];

  beforeAll(async () => {
    setup = await independentNatsSetup();
    server = await startNatsServer(setup.config);
  });
  afterAll(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await server?.stop();
  });

  async function connectAs(jwt: string, seed: string): Promise<NatsConnection> {
    const nc = await connect({
      servers: server.url,
      authenticator: jwtAuthenticator(jwt, new TextEncoder().encode(seed)),
    });
    open.push(nc);
    return nc;
  }

  /** Bob (a legitimate user of the template) publishes on `subject`; does `spy` receive it on `pattern`? */
  async function spyReads(
    spy: NatsConnection,
    pattern: string,
    subject: string,
  ): Promise<string[]> {
    const bobUser = newUser();
    const bob = await connectAs(
      issueUserJwt({
        signingKey: setup.scopedSeed,
        accountId: setup.accountId,
        publicUserKey: bobUser.publicKey,
        name: 'bob',
        tags: ['team:red'],
        expiresIn: 300,
      }),
      bobUser.seed,
    );
    const got: string[] = [];
    const sub = spy.subscribe(pattern);
    void (async () => {
      for await (const m of sub) got.push(`${m.subject}: ${m.string()}`);
    })();
    await spy.flush();
    bob.publish(subject, 'secret');
    await bob.flush();
    await until(`a message on ${pattern}`, () => got.length > 0);
    sub.unsubscribe();
    return got;
  }

  const cases: {
    title: string;
    claims: { name?: string; tags?: string[] };
    pattern: string;
    subject: string;
  }[] = [
    {
      title: 'a user named "*" reads every user\'s subjects (users.*.>)',
      claims: { name: '*' },
      pattern: 'users.bob.>',
      subject: 'users.bob.inbox',
    },
    {
      title: 'a user named ">" gets users.>.> (refused by the library alike)',
      claims: { name: '>' },
      pattern: '',
      subject: '',
    },
    {
      title: 'a tag "team:*" opens every team (teams.*.>)',
      claims: { tags: ['team:*'] },
      pattern: 'teams.red.>',
      subject: 'teams.red.plans',
    },
    {
      title:
        'a user named "bob.x" lands inside bob\'s namespace (users.bob.x.>)',
      claims: { name: 'bob.x' },
      pattern: 'users.bob.x.>',
      subject: 'users.bob.x.mail',
    },
  ];

  for (const c of cases) {
    it(c.title, async () => {
      const attacker = newUser();
      const e = errorOf(() =>
        issueUserJwt({
          signingKey: setup.scopedSeed,
          accountId: setup.accountId,
          publicUserKey: attacker.publicKey,
          expiresIn: 300,
          ...c.claims,
        }),
      );
      expect(e.code).toBe(JwtIssuerErrorCode.UNSAFE_TEMPLATE_VALUE);
      if (!c.pattern) return;
      // The same claims signed by hand with the same scoped key: nats-server accepts them and grants the wider rights.
      const jwt = handSignUserJwt(setup.scopedSeed, {
        name: c.claims.name ?? attacker.publicKey,
        sub: attacker.publicKey,
        exp: Math.floor(Date.now() / 1000) + 300,
        nats: {
          issuer_account: setup.accountId,
          ...(c.claims.tags ? { tags: c.claims.tags } : {}),
        },
      });
      const spy = await connectAs(jwt, attacker.seed);
      expect(await spyReads(spy, c.pattern, c.subject)).toEqual([
        `${c.subject}: secret`,
      ]);
    });
  }

  it('a legitimate user of the same template cannot (control: the template is what widens)', async () => {
    const carol = newUser();
    const nc = await connectAs(
      issueUserJwt({
        signingKey: setup.scopedSeed,
        accountId: setup.accountId,
        publicUserKey: carol.publicKey,
        name: 'carol',
        tags: ['team:blue'],
        expiresIn: 300,
      }),
      carol.seed,
    );
    const sub = nc.subscribe('users.bob.>');
    const closed = await sub.closed;
    expect(String(closed)).toMatch(/Permissions Violation for Subscription/i);
  });
});
