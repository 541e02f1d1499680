import 'reflect-metadata';
import { createAccount, createUser } from '@nats-io/nkeys';
import { Test } from '@nestjs/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createNatsDevelopmentAccount,
  issueUserJwt,
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtIssuerModule,
  NatsUserJwtService,
  type NatsUserPermissions,
} from '../../lib/index.js';
import { seededRandom } from '../../bench/token-fuzzer.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The `nats` member of a user JWT. */
function natsOf(jwt: string): Record<string, unknown> {
  const body = JSON.parse(
    Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'),
  ) as { nats: Record<string, unknown> };
  return body.nats;
}

/** Every list under `pub`/`sub` of a user JWT's `nats`, with its path. */
function listsOf(nats: Record<string, unknown>): [string, unknown[]][] {
  const out: [string, unknown[]][] = [];
  for (const direction of ['pub', 'sub']) {
    const p = nats[direction] as Record<string, unknown> | undefined;
    for (const [key, value] of Object.entries(p ?? {})) {
      if (Array.isArray(value)) out.push([`${direction}.${key}`, value]);
    }
  }
  return out;
}

const account = createAccount();
const signingKey = text(account.getSeed());
const accountId = account.getPublicKey();
const publicUserKey = createUser().getPublicKey();

/** The three ways a user JWT with permissions is signed by a plain (non-scoped) key. */
type Issue = (permissions: NatsUserPermissions) => string;

describe('a user JWT never carries an empty permission list (nats-server reads one as every subject)', () => {
  let service: NatsUserJwtService;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          nats: { accountId, signingKey },
        }),
      ],
    }).compile();
    service = moduleRef.get(NatsUserJwtService);
  });

  const ways: [string, () => Issue][] = [
    [
      'issueUserJwt',
      () => (permissions) =>
        issueUserJwt({ signingKey, accountId, publicUserKey, permissions }),
    ],
    [
      'NatsUserJwtService.issueUserJwt',
      () => (permissions) =>
        service.issueUserJwt({ publicUserKey, permissions }),
    ],
    [
      'NatsUserJwtService.createUser',
      () => (permissions) => service.createUser({ permissions }).jwt,
    ],
  ];

  describe.each(ways)('%s', (_name, way) => {
    it.each(['pub', 'sub'] as const)(
      'an empty %s.allow is refused, naming the field and saying how to allow everything',
      (direction) => {
        const issue = way();
        const error = (() => {
          try {
            issue({ [direction]: { allow: [] } });
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(error).toBeInstanceOf(JwtIssuerError);
        expect((error as JwtIssuerError).code).toBe(
          JwtIssuerErrorCode.INVALID_ARGUMENT,
        );
        expect((error as Error).message).toMatch(
          new RegExp(
            `^permissions\\.${direction}\\.allow: must not be empty.*leave the list out`,
          ),
        );
        // Also beside a deny list, and beside response permissions.
        expect(() =>
          issue({ [direction]: { allow: [], deny: ['admin.>'] } }),
        ).toThrow(/allow: must not be empty/);
        expect(() =>
          issue({ [direction]: { allow: [] }, resp: { max: 1 } }),
        ).toThrow(/allow: must not be empty/);
      },
    );

    it.each(['pub', 'sub'] as const)(
      'an empty %s.deny denies nothing and is left out of the JWT',
      (direction) => {
        const nats = natsOf(
          way()({ [direction]: { allow: ['users.alice.>'], deny: [] } }),
        );
        expect(nats[direction]).toEqual({ allow: ['users.alice.>'] });
        expect(natsOf(way()({ [direction]: { deny: [] } }))[direction]).toEqual(
          {},
        );
      },
    );

    it('response permissions: written as given, never with an empty publish list', () => {
      const nats = natsOf(way()({ resp: { max: 1, ttl: 0 } }));
      expect(nats.resp).toEqual({ max: 1, ttl: 0 });
      expect(nats.pub).toBeUndefined();
    });
  });

  it('over random permissions: every call either throws INVALID_ARGUMENT or signs no empty list, and keeps every entry', () => {
    const random = seededRandom(23);
    const pick = <T>(list: readonly T[]): T =>
      list[Math.floor(random() * list.length)];
    const pool = ['users.alice.>', 'teams.blue.*', '_INBOX.>', 'admin.x'];
    const list = (): string[] | undefined =>
      pick([
        undefined,
        [],
        [pick(pool)],
        [pick(pool), pick(pool)].filter((v, i, a) => a.indexOf(v) === i),
      ]);
    const permission = () => {
      const p: { allow?: string[]; deny?: string[] } = {};
      const allow = list();
      const deny = list();
      if (allow !== undefined) p.allow = allow;
      if (deny !== undefined) p.deny = deny;
      return p;
    };
    let signed = 0;
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      const permissions: NatsUserPermissions = {};
      if (random() < 0.8) permissions.pub = permission();
      if (random() < 0.8) permissions.sub = permission();
      if (random() < 0.3) permissions.resp = { max: 1 };
      const emptyAllow =
        permissions.pub?.allow?.length === 0 ||
        permissions.sub?.allow?.length === 0;
      const way = ways[i % ways.length][1]();
      let jwt: string;
      try {
        jwt = way(permissions);
      } catch (e) {
        expect((e as JwtIssuerError).code).toBe(
          JwtIssuerErrorCode.INVALID_ARGUMENT,
        );
        expect(emptyAllow).toBe(true);
        refused++;
        continue;
      }
      expect(emptyAllow).toBe(false);
      signed++;
      const nats = natsOf(jwt);
      for (const [path, value] of listsOf(nats)) {
        expect(value.length, path).toBeGreaterThan(0);
      }
      // Nothing given is lost: every non-empty list is in the JWT as given.
      for (const direction of ['pub', 'sub'] as const) {
        for (const key of ['allow', 'deny'] as const) {
          const given = permissions[direction]?.[key];
          const written = (
            nats[direction] as Record<string, unknown> | undefined
          )?.[key];
          if (given !== undefined && given.length > 0) {
            expect(written).toEqual(given);
          } else {
            expect(written).toBeUndefined();
          }
        }
      }
    }
    expect(signed).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it.each(['pub', 'sub'] as const)(
    'a development account whose scope template has an empty %s.allow is refused (its users would get every subject)',
    (direction) => {
      expect(() =>
        createNatsDevelopmentAccount({
          template: { [direction]: { allow: [] } },
        }),
      ).toThrow(
        new RegExp(`^template\\.${direction}\\.allow: must not be empty`),
      );
    },
  );
});
