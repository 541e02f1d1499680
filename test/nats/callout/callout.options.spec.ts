import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { createAccount, createCurve, createUser } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import {
  JwtIssuerConfigError,
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
  NatsCalloutResponder,
  NatsUserJwtService,
} from '../../../lib/index.js';
import { readJwtIssuerEnv } from '../../../lib/jwt-issuer.capabilities.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function problems(options: JwtIssuerModuleOptions): Promise<string[]> {
  const err = await Test.createTestingModule({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, ...options })],
  })
    .compile()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(JwtIssuerConfigError);
  return (err as JwtIssuerConfigError).problems.map(
    (p) => `${p.path}: ${p.message}`,
  );
}

const issuerSeed = text(createAccount().getSeed());
const userSeed = text(createUser().getSeed());
const curveSeed = text(createCurve().getSeed());
const curvePublic = createCurve().getPublicKey();

/** The start-up error of a module whose responder is built at init (the authorizer is found then). */
async function initError(options: JwtIssuerModuleOptions): Promise<unknown> {
  const moduleRef = await Test.createTestingModule({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, ...options })],
  }).compile();
  return moduleRef.init().then(
    async () => {
      await moduleRef.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

describe('nats.callout options: every problem at start-up, no secret quoted', () => {
  it('config mode: reports the wrong key kinds, an xkey that is no curve seed, and missing servers and user together', async () => {
    const list = await problems({
      nats: {
        callout: {
          issuerKey: userSeed,
          xkey: issuerSeed,
          authorizer: 'service-token',
        },
      },
    });
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^nats\.callout\.servers: is required/),
        expect.stringMatching(
          /^nats\.callout\.user: is required in config mode/,
        ),
        expect.stringMatching(
          /^nats\.callout\.issuerKey: is a user seed; an account seed \(SA…\) is needed/,
        ),
        expect.stringMatching(/^nats\.callout\.xkey: is not a curve seed/),
      ]),
    );
    const joined = list.join('\n');
    for (const secret of [issuerSeed, userSeed])
      expect(joined).not.toContain(secret);
  });

  it('a public xkey where the seed belongs says so', async () => {
    const list = await problems({
      nats: {
        callout: {
          servers: 'nats://127.0.0.1:4222',
          user: 'u',
          pass: 'p',
          issuerKey: issuerSeed,
          xkey: curvePublic,
        },
      },
    });
    expect(list.join('\n')).toMatch(
      /nats\.callout\.xkey: is not a curve seed.*this is a public xkey/,
    );
  });

  it('operator mode without an account or signing key, without creds: a mode that cannot work', async () => {
    const list = await problems({
      nats: {
        callout: { mode: 'operator', servers: ['nats://127.0.0.1:4222'] },
      },
    });
    expect(list.join('\n')).toMatch(/nats\.accountId/);
    expect(list.join('\n')).toMatch(
      /nats\.callout\.creds: is required in operator mode/,
    );
  });

  it('an unknown mode, an account key as config-mode account, bad numbers, an unknown option', async () => {
    const list = await problems({
      nats: {
        callout: {
          mode: 'both' as never,
          servers: 'nats://127.0.0.1:4222',
          user: 'u',
          pass: 'p',
          issuerKey: issuerSeed,
          account: createAccount().getPublicKey(),
          timeout: 0,
          maxConcurrency: -1,
          queues: 'x',
        } as never,
      },
    });
    const joined = list.join('\n');
    expect(joined).toMatch(/nats\.callout\.mode: must be 'config'/);
    expect(joined).toMatch(/nats\.callout\.timeout: must be a number/);
    expect(joined).toMatch(/nats\.callout\.maxConcurrency: must be a number/);
    expect(joined).toMatch(/nats\.callout\.queues: is not a known option/);
  });

  it("the 'service-token' authorizer without a verifying 'service' section fails the start, naming what to set", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          nats: {
            callout: {
              servers: 'nats://127.0.0.1:1',
              user: 'u',
              pass: 'p',
              issuerKey: issuerSeed,
              authorizer: 'service-token',
            },
          },
        }),
      ],
    }).compile();
    const err = await moduleRef.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JwtIssuerConfigError);
    expect((err as Error).message).toMatch(
      /nats\.callout\.authorizer.*'service-token' verifies tokens with the 'service' section/s,
    );
  });

  const ownTokens = {
    name: 'auth',
    issuer: 'http://auth.test',
    algorithm: 'EdDSA' as const,
    acceptOwnTokens: true,
    publishJwks: false,
  };

  it("the 'service-token' authorizer without an audience fails the start, naming the variable to set", async () => {
    const err = await initError({
      nats: {
        callout: {
          servers: 'nats://127.0.0.1:1',
          user: 'u',
          pass: 'p',
          issuerKey: issuerSeed,
          authorizer: 'service-token',
        },
      },
      service: ownTokens,
    });
    expect(err).toBeInstanceOf(JwtIssuerConfigError);
    expect((err as JwtIssuerConfigError).problems).toEqual([
      {
        path: 'nats.callout.audience',
        env: 'JWT_ISSUER_NATS_CALLOUT_AUDIENCE',
        message: expect.stringMatching(
          /^is required by the 'service-token' authorizer, so that a token minted for another service cannot open a NATS connection.*JWT_ISSUER_SERVICE_EXPECTED_AUDIENCE/,
        ),
      },
    ]);
    // Without a verifying service section either: both problems at once.
    const both = await initError({
      nats: {
        callout: {
          servers: 'nats://127.0.0.1:1',
          user: 'u',
          pass: 'p',
          issuerKey: issuerSeed,
          authorizer: 'service-token',
        },
      },
    });
    expect((both as JwtIssuerConfigError).problems.map((p) => p.path)).toEqual([
      'nats.callout.authorizer',
      'nats.callout.audience',
    ]);
  });

  it("the 'service-token' authorizer takes its audience from nats.callout.audience or service.expectedAudience", async () => {
    for (const options of [
      { callout: { audience: 'nats' }, service: {} },
      { callout: {}, service: { expectedAudience: 'auth' } },
    ]) {
      const moduleRef = await Test.createTestingModule({
        imports: [
          JwtIssuerModule.forRoot({
            ignoreEnvVars: true,
            nats: {
              callout: {
                // A port nothing listens on: the responder keeps reconnecting, the start does not wait for it.
                servers: 'nats://127.0.0.1:1',
                user: 'u',
                pass: 'p',
                issuerKey: issuerSeed,
                authorizer: 'service-token',
                ...options.callout,
              },
            },
            service: { ...ownTokens, ...options.service },
          }),
        ],
      }).compile();
      const responder = moduleRef.get(NatsCalloutResponder);
      expect(responder.options.audience).toEqual(
        options.callout.audience ? ['nats'] : undefined,
      );
      await moduleRef.close();
    }
    const env = readJwtIssuerEnv({
      JWT_ISSUER_NATS_CALLOUT_AUDIENCE: 'nats,nats-eu',
      JWT_ISSUER_NATS_CALLOUT_EMPTY_ALLOW: 'deny-all',
    });
    expect(env.nats.callout).toEqual({
      audience: ['nats', 'nats-eu'],
      emptyAllow: 'deny-all',
    });
  });

  it('a template that could sign a wider user is refused at start-up: an empty allow list, {{tag()}} with password, an unknown emptyAllow', async () => {
    const list = await problems({
      nats: {
        callout: {
          servers: 'nats://127.0.0.1:4222',
          user: 'u',
          pass: 'p',
          issuerKey: issuerSeed,
          authorizer: 'password',
          users: { alice: 'pw' },
          audience: [],
          emptyAllow: 'allow-all' as never,
          permissions: {
            pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] },
            sub: { allow: [], deny: ['teams.{{tag(team)}}.secret'] },
          },
        },
      },
    });
    expect(list).toEqual([
      'nats.callout.audience: must be an audience or a list of them (non-empty strings)',
      expect.stringMatching(
        /^nats\.callout\.permissions: permissions\.sub\.allow: must not be empty: nats-server reads an empty allow list as no restriction/,
      ),
      "nats.callout.emptyAllow: must be 'refuse-connection' or 'deny-all'",
    ]);
    const tags = await problems({
      nats: {
        callout: {
          servers: 'nats://127.0.0.1:4222',
          user: 'u',
          pass: 'p',
          issuerKey: issuerSeed,
          authorizer: 'password',
          users: { alice: 'pw' },
          permissions: {
            pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] },
            sub: { allow: ['_INBOX.>'], deny: ['teams.{{tag(team)}}.secret'] },
          },
        },
      },
    });
    expect(tags).toEqual([
      "nats.callout.permissions.pub.allow[1]: uses {{tag()}}, but the 'password' authorizer gives its users no tags: the entry could never be expanded",
      "nats.callout.permissions.sub.deny[0]: uses {{tag()}}, but the 'password' authorizer gives its users no tags: the entry could never be expanded",
    ]);
  });

  it('no authorizer at all fails the start, saying how to give one', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          nats: {
            callout: {
              servers: 'nats://127.0.0.1:1',
              user: 'u',
              pass: 'p',
              issuerKey: issuerSeed,
            },
          },
        }),
      ],
    }).compile();
    const err = await moduleRef.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(
      /no authorizer: set 'service-token' or 'password'.*@NatsAuthCallout\(\)/s,
    );
  });

  it("'password' is refused in production", async () => {
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const list = await problems({
        nats: {
          callout: {
            servers: 'nats://127.0.0.1:4222',
            user: 'u',
            pass: 'p',
            issuerKey: issuerSeed,
            authorizer: 'password',
            users: { a: 'b' },
          },
        },
      });
      expect(list.join('\n')).toMatch(
        /nats\.callout\.authorizer: 'password' is a development authorizer/,
      );
      expect(list.join('\n')).not.toContain(': b');
    } finally {
      process.env.NODE_ENV = before;
    }
  });

  it('JWT_ISSUER_NATS_CALLOUT_* variables configure it; a config-mode responder alone needs no account or signing key', async () => {
    const env = readJwtIssuerEnv({
      JWT_ISSUER_NATS_CALLOUT_SERVERS: 'nats://127.0.0.1:1,nats://127.0.0.1:2',
      JWT_ISSUER_NATS_CALLOUT_USER: 'callout',
      JWT_ISSUER_NATS_CALLOUT_PASS: 'secret',
      JWT_ISSUER_NATS_CALLOUT_ISSUER_KEY: issuerSeed,
      JWT_ISSUER_NATS_CALLOUT_XKEY: curveSeed,
      JWT_ISSUER_NATS_CALLOUT_AUTHORIZER: 'password',
      JWT_ISSUER_NATS_CALLOUT_USERS: '{"alice":"pw"}',
      JWT_ISSUER_NATS_CALLOUT_TAG_CLAIMS: 'team,role',
    });
    expect(env.nats.callout).toMatchObject({
      servers: ['nats://127.0.0.1:1', 'nats://127.0.0.1:2'],
      users: { alice: 'pw' },
      tagClaims: ['team', 'role'],
    });
    const moduleRef = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          ...(env as JwtIssuerModuleOptions),
        }),
      ],
    }).compile();
    const responder = moduleRef.get(NatsCalloutResponder);
    expect(responder.options.mode).toBe('config');
    expect(responder.options.xkey?.publicKey).toMatch(/^X/);
    expect(() => moduleRef.get(NatsUserJwtService).accountId).toThrow(
      /configures only the auth callout/,
    );
    await moduleRef.close();
  });

  it('a server URL holding a user and password never reaches the log: the start-up line and the connection errors show it without them', async () => {
    const lines: string[] = [];
    const keep = (...args: unknown[]) =>
      void lines.push(args.map(String).join(' '));
    const moduleRef = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          nats: {
            callout: {
              // Nothing listens there: the responder logs its first failure to connect.
              servers: 'nats://callout:ServerUrlPw@127.0.0.1:1',
              user: 'u',
              pass: 'p',
              issuerKey: issuerSeed,
              authorizer: 'password',
              users: { a: 'b' },
            },
          },
        }),
      ],
    }).compile();
    moduleRef.useLogger({
      log: keep,
      warn: keep,
      error: keep,
      debug: keep,
      verbose: keep,
      fatal: keep,
    });
    await moduleRef.init();
    try {
      const deadline = Date.now() + 5000;
      while (
        !lines.some((l) => l.includes('cannot connect to')) &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const all = lines.join('\n');
      expect(all).toContain('connecting to nats://127.0.0.1:1;');
      expect(all).toContain('cannot connect to nats://127.0.0.1:1 (');
      expect(all).not.toContain('ServerUrlPw');
    } finally {
      await moduleRef.close();
    }
  });
});
