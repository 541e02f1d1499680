import 'reflect-metadata';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { tokenGenerate, verifySignature } from '@vonage/jwt';
import { decodeJwt, importSPKI, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerError,
  JwtIssuerModule,
  VONAGE_ACL_PATHS,
  vonageAcl,
  type VonageJwtOptions,
  VonageJwtService,
  type VonageTokenOptions,
} from '../../lib/index.js';

const UUID_V4 =
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ALL_PATHS = {
  '/v1/sessions/**': {},
  '/v1/users/**': {},
  '/v1/conversations/**': {},
  '/v1/image/**': {},
  '/v3/media/**': {},
  '/v1/knocking/**': {},
  '/v1/push/**': {},
  '/v1/devices/**': {},
  '/v1/applications/**': {},
};

const applicationId = randomUUID();
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
});
const privatePem = privateKey
  .export({ format: 'pem', type: 'pkcs8' })
  .toString();
const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();

async function service(vonage: VonageJwtOptions): Promise<VonageJwtService> {
  const moduleRef = await Test.createTestingModule({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, vonage })],
  }).compile();
  return moduleRef.get(VonageJwtService);
}

function invalidArgument(fn: () => unknown, ...words: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(JwtIssuerError);
  expect(error).toMatchObject({ code: 'ERR_JWT_ISSUER_INVALID_ARGUMENT' });
  for (const w of words) expect((error as Error).message).toContain(w);
}

describe('VonageJwtService', () => {
  let vonage: VonageJwtService;
  let verifyKey: Awaited<ReturnType<typeof importSPKI>>;

  /** Verifies with jose (RS256 only, the public key) and @vonage/jwt; returns the claims. */
  async function verified(token: string, currentDate?: Date) {
    expect(verifySignature(token, publicPem)).toBe(currentDate === undefined);
    const { payload, protectedHeader } = await jwtVerify(token, verifyKey, {
      algorithms: ['RS256'],
      currentDate,
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'JWT' });
    return payload;
  }

  beforeAll(async () => {
    vonage = await service({ applicationId, privateKey: privatePem });
    verifyKey = await importSPKI(publicPem, 'RS256');
  });

  it('signs application_id, iat, a uuid v4 jti and exp = iat + 900 by default', async () => {
    const before = Math.floor(Date.now() / 1000);
    const claims = await verified(vonage.createToken());
    expect(Object.keys(claims)).toEqual([
      'application_id',
      'iat',
      'jti',
      'exp',
    ]);
    expect(claims.application_id).toBe(applicationId);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp).toBe(claims.iat! + 900);
    expect(claims.jti).toMatch(UUID_V4);
    expect((await verified(vonage.createToken())).jti).not.toBe(claims.jti);
  });

  it('puts sub, acl, ttl, nbf and jti exactly as asked', async () => {
    const nbf = Math.floor(Date.now() / 1000) - 5;
    const token = vonage.createToken({
      sub: 'jamie',
      acl: vonageAcl('all'),
      ttl: 86_400,
      nbf,
      jti: 'my-id-1',
    });
    const claims = await verified(token);
    expect(claims).toEqual({
      application_id: applicationId,
      iat: claims.iat,
      jti: 'my-id-1',
      exp: claims.iat! + 86_400,
      nbf,
      sub: 'jamie',
      acl: { paths: ALL_PATHS },
    });
    expect(claims).not.toHaveProperty('notBefore');
  });

  it('nbf is a real nbf claim: verifiers refuse the token before it', async () => {
    const soon = new Date(Date.now() + 120_000);
    const token = vonage.createToken({ nbf: soon, ttl: 600 });
    const seconds = Math.floor(soon.getTime() / 1000);
    expect(decodeJwt(token).nbf).toBe(seconds);
    await expect(
      jwtVerify(token, verifyKey, { algorithms: ['RS256'] }),
    ).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'nbf',
    });
    expect(verifySignature(token, publicPem)).toBe(false);
    const claims = await verified(token, new Date(soon.getTime() + 1000));
    expect(claims.nbf).toBe(seconds);
  });

  it('refuses a ttl over 24 h, not positive, not whole or not finite, naming ttl', () => {
    for (const ttl of [
      86_401,
      100_000,
      0,
      -1,
      1.5,
      Number.NaN,
      Infinity,
      -Infinity,
    ]) {
      invalidArgument(() => vonage.createToken({ ttl }), 'ttl', '86400');
    }
    invalidArgument(
      () => vonage.createToken({ ttl: '60' as unknown as number }),
      'ttl',
    );
  });

  it('refuses bad nbf, sub, jti, acl and options other tools use', () => {
    invalidArgument(() => vonage.createToken({ nbf: -1 }), 'nbf');
    invalidArgument(
      () => vonage.createToken({ nbf: new Date(Number.NaN) }),
      'nbf',
    );
    invalidArgument(
      () =>
        vonage.createToken({
          ttl: 60,
          nbf: Math.floor(Date.now() / 1000) + 3600,
        }),
      'nbf must come before exp',
    );
    invalidArgument(() => vonage.createToken({ sub: '' }), 'sub');
    invalidArgument(() => vonage.createToken({ jti: '' }), 'jti');
    invalidArgument(
      () => vonage.createToken({ acl: { paths: {} } }),
      'acl.paths must not be empty',
    );
    invalidArgument(
      () => vonage.createToken({ acl: { paths: { 'v1/users': {} } } }),
      'acl.paths',
    );
    invalidArgument(
      () =>
        vonage.createToken({
          acl: { paths: { '/v1/users/**': { methods: ['FETCH' as 'GET'] } } },
        }),
      "acl.paths['/v1/users/**'].methods",
    );
    invalidArgument(
      () =>
        vonage.createToken({
          notBefore: 1,
        } as unknown as VonageTokenOptions),
      'notBefore is not a known option (use nbf)',
    );
    invalidArgument(
      () => vonage.createToken({ exp: 1 } as unknown as VonageTokenOptions),
      'exp is not a known option (use ttl)',
    );
  });

  it('never mutates the caller’s options (deeply frozen works) and keeps no reference', async () => {
    const options: VonageTokenOptions = Object.freeze({
      sub: 'amy',
      ttl: 60,
      acl: Object.freeze({
        paths: Object.freeze({
          '/v1/users/**': Object.freeze({
            methods: Object.freeze(['GET']) as never,
          }),
        }),
      }),
    });
    const snapshot = JSON.stringify(options);
    const a = await verified(vonage.createToken(options));
    const b = await verified(vonage.createToken(options));
    expect(JSON.stringify(options)).toBe(snapshot);
    expect(a.acl).toEqual({ paths: { '/v1/users/**': { methods: ['GET'] } } });
    expect(a.jti).not.toBe(b.jti);
    // The official generator, for contrast, writes into the options it is given.
    const theirs: Record<string, unknown> = { sub: 'amy', ttl: 60 };
    tokenGenerate(applicationId, privatePem, theirs);
    expect(theirs).not.toEqual({ sub: 'amy', ttl: 60 });
  });

  it('uses the configured default ttl', async () => {
    const hourly = await service({
      applicationId,
      privateKey: privateKey,
      defaultTtl: 3600,
    });
    const claims = await verified(hourly.createToken());
    expect(claims.exp).toBe(claims.iat! + 3600);
  });

  it('tokens do not verify under another key, as HS256 with the public key, or tampered', async () => {
    const token = vonage.createToken({ sub: 'jamie' });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherPem = other.publicKey
      .export({ format: 'pem', type: 'spki' })
      .toString();
    expect(verifySignature(token, otherPem)).toBe(false);
    await expect(
      jwtVerify(token, other.publicKey, { algorithms: ['RS256'] }),
    ).rejects.toThrow();
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(
      JSON.stringify({ ...decodeJwt(token), sub: 'admin' }),
    ).toString('base64url')}.${s}`;
    await expect(
      jwtVerify(forged, verifyKey, { algorithms: ['RS256'] }),
    ).rejects.toThrow();
    expect(verifySignature(forged, publicPem)).toBe(false);
  });
});

describe('vonageAcl', () => {
  it("'all' (and no argument) gives every documented path", () => {
    expect(vonageAcl('all')).toEqual({ paths: ALL_PATHS });
    expect(vonageAcl()).toEqual({ paths: ALL_PATHS });
    expect(Object.values(VONAGE_ACL_PATHS).toSorted()).toEqual(
      Object.keys(ALL_PATHS).toSorted(),
    );
    expect(vonageAcl('all')).not.toBe(vonageAcl('all'));
  });

  it('a chosen few, by name', () => {
    expect(vonageAcl(['sessions', 'media'])).toEqual({
      paths: { '/v1/sessions/**': {}, '/v3/media/**': {} },
    });
  });

  it('a chosen few with methods and filters, copied (the argument is not kept or changed)', () => {
    const rules = {
      sessions: {},
      users: { methods: ['GET', 'POST'] as ('GET' | 'POST')[] },
      conversations: { filters: { name: 'support', tags: ['a'] } },
    };
    const acl = vonageAcl(rules);
    expect(acl).toEqual({
      paths: {
        '/v1/sessions/**': {},
        '/v1/users/**': { methods: ['GET', 'POST'] },
        '/v1/conversations/**': { filters: { name: 'support', tags: ['a'] } },
      },
    });
    rules.users.methods.push('POST');
    rules.conversations.filters.tags.push('b');
    expect(acl.paths['/v1/users/**'].methods).toEqual(['GET', 'POST']);
    expect(acl.paths['/v1/conversations/**'].filters).toEqual({
      name: 'support',
      tags: ['a'],
    });
  });

  it('refuses unknown names, empty selections and bad rules', () => {
    invalidArgument(
      () => vonageAcl(['user' as 'users']),
      'paths[0]',
      'known: sessions',
    );
    invalidArgument(() => vonageAcl([]), 'empty');
    invalidArgument(() => vonageAcl({}), 'empty');
    invalidArgument(
      () => vonageAcl({ users: { methods: [] } }),
      'users.methods',
    );
    invalidArgument(
      () => vonageAcl({ users: { verbs: ['GET'] } as never }),
      'users.verbs is not a known rule field',
    );
    invalidArgument(
      () => vonageAcl({ users: { filters: [] as never } }),
      'users.filters',
    );
    invalidArgument(
      () => vonageAcl({ users: null as never }),
      'users must be an object',
    );
    invalidArgument(() => vonageAcl('some' as 'all'), "'all'");
    invalidArgument(
      () => vonageAcl({ toString: {} } as never),
      'not a documented ACL path',
    );
  });
});
