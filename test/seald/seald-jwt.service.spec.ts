import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { verifySignature } from '@vonage/jwt';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerError,
  JwtIssuerModule,
  type SealdJwtOptions,
  SealdJwtService,
  SealdPermission,
} from '../../lib/index.js';

const UUID_V4 =
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const secretId = randomUUID();
const secret = randomBytes(48).toString('base64url');
const appId = randomUUID();

async function service(seald: SealdJwtOptions): Promise<SealdJwtService> {
  const moduleRef = await Test.createTestingModule({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, seald })],
  }).compile();
  return moduleRef.get(SealdJwtService);
}

/** Verifies with jose (HS256, the secret's bytes, only HS256 allowed) and @vonage/jwt; returns the claims. */
async function verified(token: string, key = secret) {
  expect(verifySignature(token, key)).toBe(true);
  const { payload, protectedHeader } = await jwtVerify(
    token,
    new TextEncoder().encode(key),
    { algorithms: ['HS256'], issuer: secretId },
  );
  expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
  return payload;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
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
  expect((error as Error).message).not.toContain(secret);
}

describe('SealdJwtService', () => {
  let seald: SealdJwtService;
  let limited: SealdJwtService;

  beforeAll(async () => {
    seald = await service({ secretId, secret, appId });
    limited = await service({
      secretId,
      secret,
      permissions: [
        SealdPermission.ANONYMOUS_CREATE_MESSAGE,
        SealdPermission.ANONYMOUS_FIND_KEYS,
      ],
    });
  });

  it('exports the permission enum with Seald’s values', () => {
    expect(SealdPermission).toEqual({
      ALL: -1,
      ANONYMOUS_CREATE_MESSAGE: 0,
      ANONYMOUS_FIND_KEYS: 1,
      ANONYMOUS_FIND_SIGCHAIN: 2,
      JOIN_TEAM: 3,
      ADD_CONNECTOR: 4,
      ANONYMOUS_FIND_SYMENC_KEY: 5,
    });
  });

  it('signs iss, iat and a random UUID jti by default, and nothing else', async () => {
    const before = nowSeconds();
    const token = seald.createToken();
    const claims = await verified(token);
    expect(Object.keys(claims)).toEqual(['iss', 'iat', 'jti']);
    expect(claims.iss).toBe(secretId);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(nowSeconds());
    expect(claims.jti).toMatch(UUID_V4);
    const other = await verified(seald.createToken());
    expect(other.jti).not.toBe(claims.jti);
  });

  it('puts every claim asked for, exactly, under Seald’s names', async () => {
    const recipients = [randomUUID(), randomUUID()];
    const owner = randomUUID();
    const token = seald.createToken({
      scopes: [SealdPermission.ANONYMOUS_CREATE_MESSAGE, 1],
      recipients,
      owner,
      joinTeam: true,
      connectorAdd: `user-1@${appId}`,
      oneTime: false,
      issuedAt: 1_700_000_000,
    });
    const { payload } = await jwtVerify(
      token,
      new TextEncoder().encode(secret),
      {
        algorithms: ['HS256'],
        currentDate: new Date(1_700_000_100_000),
      },
    );
    expect(payload).toEqual({
      iss: secretId,
      iat: 1_700_000_000,
      scopes: [0, 1],
      recipients,
      owner,
      join_team: true,
      connector_add: { value: `user-1@${appId}`, type: 'AP' },
    });
    expect(verifySignature(token, secret)).toBe(true);
  });

  it('accepts issuedAt as a Date and a connector as { value, type: "AP" }', async () => {
    const at = new Date();
    const claims = await verified(
      seald.createToken({
        issuedAt: at,
        connectorAdd: { value: `x@${appId}`, type: 'AP' },
      }),
    );
    expect(claims.iat).toBe(Math.floor(at.getTime() / 1000));
    expect(claims.connector_add).toEqual({ value: `x@${appId}`, type: 'AP' });
  });

  it('makes a sign-up token: join_team, JOIN_TEAM scope, and with userId the connector and ADD_CONNECTOR', async () => {
    const plain = await verified(seald.createSignupToken());
    expect(plain).toEqual({
      iss: secretId,
      iat: plain.iat,
      jti: plain.jti,
      scopes: [3],
      join_team: true,
    });
    expect(plain.jti).toMatch(UUID_V4);

    const withUser = await verified(
      seald.createSignupToken({ userId: 'alice-42', oneTime: false }),
    );
    expect(withUser).toEqual({
      iss: secretId,
      iat: withUser.iat,
      scopes: [3, 4],
      join_team: true,
      connector_add: { value: `alice-42@${appId}`, type: 'AP' },
    });
  });

  it('makes an anonymous-encryption token: recipients, owner, scopes by use', async () => {
    const recipients = [randomUUID()];
    const owner = randomUUID();
    const encrypt = await verified(
      limited.createAnonymousEncryptionToken({ recipients, owner }),
    );
    expect(encrypt).toEqual({
      iss: secretId,
      iat: encrypt.iat,
      jti: encrypt.jti,
      scopes: [0, 1],
      recipients,
      owner,
    });
    const findKeys = await verified(
      limited.createAnonymousEncryptionToken({ recipients }),
    );
    expect(findKeys.scopes).toEqual([1]);
    expect(findKeys.owner).toBeUndefined();
  });

  it('refuses unknown permissions and scopes outside the secret’s permissions', () => {
    invalidArgument(() => seald.createToken({ scopes: [7] }), 'scopes[0]');
    invalidArgument(() => seald.createToken({ scopes: [1.5] }), 'scopes[0]');
    invalidArgument(
      () => seald.createToken({ scopes: ['1' as unknown as number] }),
      'scopes[0]',
    );
    invalidArgument(() => seald.createToken({ scopes: [] }), 'scopes');
    invalidArgument(
      () => limited.createToken({ scopes: [1, SealdPermission.JOIN_TEAM] }),
      'scopes[1]',
      'JOIN_TEAM',
      'seald.permissions',
    );
    invalidArgument(
      () => limited.createToken({ scopes: [SealdPermission.ALL] }),
      'scopes[0]',
    );
    invalidArgument(() => limited.createSignupToken(), 'JOIN_TEAM');
    invalidArgument(
      () =>
        limited.createAnonymousEncryptionToken({
          recipients: ['r'],
          scopes: [5],
        }),
      'scopes[0]',
    );
    // -1 configured (the default) allows every scope, -1 included.
    expect(() =>
      seald.createToken({ scopes: [-1, 0, 1, 2, 3, 4, 5] }),
    ).not.toThrow();
  });

  it('refuses a connector not of the form x@appId', async () => {
    invalidArgument(
      () => seald.createToken({ connectorAdd: 'no-at-sign' }),
      'connectorAdd',
      `x@${appId}`,
    );
    invalidArgument(
      () => seald.createToken({ connectorAdd: `@${appId}` }),
      'connectorAdd',
    );
    invalidArgument(
      () => seald.createToken({ connectorAdd: 'user@other-app' }),
      'connectorAdd',
      'seald.appId',
    );
    invalidArgument(
      () =>
        seald.createToken({
          connectorAdd: { value: `u@${appId}`, type: 'EM' as 'AP' },
        }),
      'connectorAdd.type',
    );
    invalidArgument(
      () => seald.createToken({ connectorAdd: 42 as unknown as string }),
      'connectorAdd',
    );
    // Without a configured app id, any x@y is accepted; a sign-up with userId needs the app id.
    const noApp = await service({ secretId, secret });
    expect(
      (await verified(noApp.createToken({ connectorAdd: 'u@a' })))
        .connector_add,
    ).toEqual({
      value: 'u@a',
      type: 'AP',
    });
    invalidArgument(
      () => noApp.createToken({ connectorAdd: 'u@' }),
      'connectorAdd',
    );
    invalidArgument(
      () => noApp.createSignupToken({ userId: 'u' }),
      'JWT_ISSUER_SEALD_APP_ID',
    );
  });

  it('refuses empty or malformed recipients, owner and other options', () => {
    invalidArgument(() => seald.createToken({ recipients: [] }), 'recipients');
    invalidArgument(
      () => seald.createAnonymousEncryptionToken({ recipients: [] }),
      'recipients',
    );
    invalidArgument(
      () =>
        seald.createAnonymousEncryptionToken(
          {} as unknown as { recipients: string[] },
        ),
      'recipients',
    );
    invalidArgument(
      () => seald.createToken({ recipients: ['a', ''] }),
      'recipients[1]',
    );
    invalidArgument(
      () => seald.createToken({ recipients: 'a' as unknown as string[] }),
      'recipients',
    );
    invalidArgument(() => seald.createToken({ owner: '' }), 'owner');
    invalidArgument(
      () => seald.createToken({ joinTeam: 'yes' as unknown as boolean }),
      'joinTeam',
    );
    invalidArgument(
      () => seald.createToken({ oneTime: 0 as unknown as boolean }),
      'oneTime',
    );
    invalidArgument(() => seald.createToken({ issuedAt: -1 }), 'issuedAt');
    invalidArgument(() => seald.createToken({ issuedAt: 1.5 }), 'issuedAt');
    invalidArgument(
      () => seald.createToken({ issuedAt: new Date(Number.NaN) }),
      'issuedAt',
    );
    invalidArgument(
      () =>
        seald.createToken({ join_team: true } as unknown as {
          joinTeam: boolean;
        }),
      'join_team is not a known option',
    );
    invalidArgument(
      () => seald.createToken(null as unknown as object),
      'options',
    );
    invalidArgument(() => seald.createSignupToken({ userId: '' }), 'userId');
  });

  it('never changes the caller’s options (frozen objects work)', async () => {
    const options = Object.freeze({
      scopes: Object.freeze([0, 1]),
      recipients: Object.freeze(['r1']),
      owner: 'o',
      connectorAdd: Object.freeze({ value: `c@${appId}`, type: 'AP' as const }),
    });
    const claims = await verified(seald.createToken(options));
    expect(claims.scopes).toEqual([0, 1]);
    expect(claims.connector_add).toEqual({ value: `c@${appId}`, type: 'AP' });
  });

  it('tokens do not verify under another secret, another algorithm, or when tampered with', async () => {
    const token = seald.createToken({ scopes: [0] });
    const other = randomBytes(48).toString('base64url');
    await expect(
      jwtVerify(token, new TextEncoder().encode(other), {
        algorithms: ['HS256'],
      }),
    ).rejects.toThrow();
    expect(verifySignature(token, other)).toBe(false);
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(p, 'base64url').toString()),
        scopes: [-1],
      }),
    ).toString('base64url')}.${s}`;
    await expect(
      jwtVerify(tampered, new TextEncoder().encode(secret), {
        algorithms: ['HS256'],
      }),
    ).rejects.toThrow();
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    // The same claims signed by jose with the secret's bytes give the very same signature input: same key.
    const payload = JSON.parse(
      Buffer.from(p, 'base64url').toString(),
    ) as Record<string, unknown>;
    const byJose = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(secret));
    expect(byJose).toBe(token);
  });
});
