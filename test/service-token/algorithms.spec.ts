import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  importVerificationJwk,
  JwtIssuerErrorCode,
  ServiceTokenVerifier,
  type VerifyAlgorithm,
} from '../../lib/index.js';
import {
  type AuthorizationServer,
  authorizationServer,
  signingJwk,
} from '../support/authorization-server.js';
import { forge, headerOf } from '../support/forge.js';
import {
  type HostileJwks,
  startHostileJwks,
  weakJwks,
} from '../support/hostile-jwks.js';

type NewAlgorithm = 'PS256' | 'RS384' | 'RS512' | 'ES384' | 'ES512';
const NEW: NewAlgorithm[] = ['PS256', 'RS384', 'RS512', 'ES384', 'ES512'];
const now = () => Math.floor(Date.now() / 1000);
const resource = (alg: string) => `http://api-${alg.toLowerCase()}.test`;

function keyPair(alg: NewAlgorithm | 'RS256' | 'ES256'): {
  privateKey: KeyObject;
  publicKey: KeyObject;
} {
  if (alg.startsWith('ES')) {
    const namedCurve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[
      alg as 'ES256'
    ];
    return generateKeyPairSync('ec', { namedCurve });
  }
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

// For each new algorithm, the algorithm whose key is "another algorithm's key" in the refusal test.
const OTHER: Record<NewAlgorithm, NewAlgorithm | 'ES256'> = {
  PS256: 'ES384',
  RS384: 'RS512',
  RS512: 'PS256',
  ES384: 'ES512',
  ES512: 'ES256',
};

describe('PS256, RS384, RS512, ES384, ES512: declared per trusted issuer, with the same key checks', () => {
  const keys = Object.fromEntries(
    [...NEW, 'ES256' as const].map((a) => [a, keyPair(a)]),
  ) as Record<NewAlgorithm | 'ES256', ReturnType<typeof keyPair>>;
  const jwks = Object.entries(keys).map(([alg, k]) => ({
    ...k.publicKey.export({ format: 'jwk' }),
    kid: `k-${alg}`,
    alg,
    use: 'sig',
  }));
  let server: HostileJwks;
  let declared: ServiceTokenVerifier;
  let undeclared: ServiceTokenVerifier;
  const ISSUER = 'https://idp.test';

  beforeAll(async () => {
    server = await startHostileJwks();
    server.set('/jwks', { kind: 'keys', keys: jwks });
    const trusted = (algorithms?: VerifyAlgorithm[]) =>
      new ServiceTokenVerifier({
        trustedIssuers: [
          {
            issuer: ISSUER,
            jwksUri: server.url('/jwks'),
            ...(algorithms ? { algorithms } : {}),
          },
        ],
      });
    declared = trusted([...NEW, 'ES256']);
    undeclared = trusted(); // the defaults: RS256, ES256, EdDSA
  });
  afterAll(() => server?.close());

  const token = (alg: string, kid: string, key: KeyObject, how = alg) =>
    forge(
      { alg, kid },
      { source: 'microservice', iss: ISSUER, sub: 's', exp: now() + 60 },
      key,
      how as never,
    );

  it.each(NEW)('%s: accepted with a valid key (and by jose)', async (alg) => {
    const t = token(alg, `k-${alg}`, keys[alg].privateKey);
    await expect(declared.verify(t)).resolves.toMatchObject({ sub: 's' });
    await jwtVerify(t, createLocalJWKSet({ keys: jwks as never }), {
      algorithms: [alg],
    });
  });

  it.each(NEW)(
    '%s: refused when signed with the key of another algorithm',
    async (alg) => {
      const other = OTHER[alg];
      // Header and kid of the right key, signature by another algorithm's key: does not verify.
      const forged = token(alg, `k-${alg}`, keys[other].privateKey, other);
      await expect(declared.verify(forged)).rejects.toMatchObject({
        code: JwtIssuerErrorCode.TOKEN_SIGNATURE_INVALID,
      });
      // Header of this algorithm, kid of the other key: the key is bound to its own algorithm.
      const mixed = token(alg, `k-${other}`, keys[other].privateKey, other);
      await expect(declared.verify(mixed)).rejects.toMatchObject({
        code: JwtIssuerErrorCode.TOKEN_HEADER_REFUSED,
      });
    },
  );

  it.each(NEW)(
    '%s: refused when the issuer did not declare it (its keys are never imported)',
    async (alg) => {
      const t = token(alg, `k-${alg}`, keys[alg].privateKey);
      await expect(undeclared.verify(t)).rejects.toMatchObject({
        code: JwtIssuerErrorCode.TOKEN_KEY_UNKNOWN,
      });
    },
  );

  it('PS256 with a salt other than the hash length is refused (RFC 7518 3.5)', async () => {
    const { sign, constants } = await import('node:crypto');
    const [h, p] = token('PS256', 'k-PS256', keys.PS256.privateKey).split('.');
    const sig = sign('sha256', Buffer.from(`${h}.${p}`), {
      key: keys.PS256.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 0,
    }).toString('base64url');
    await expect(declared.verify(`${h}.${p}.${sig}`)).rejects.toMatchObject({
      code: JwtIssuerErrorCode.TOKEN_SIGNATURE_INVALID,
    });
  });
});

describe('the new algorithms from a real authorization server (oidc-provider signs, the verifier finds its keys by discovery)', () => {
  let as: AuthorizationServer;

  beforeAll(async () => {
    as = await authorizationServer();
    await as.start({
      keys: NEW.map((alg) => signingJwk(alg, `as-${alg}`).jwk),
      clients: [
        {
          client_id: 'c',
          client_secret: 'c-secret',
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          token_endpoint_auth_method: 'client_secret_basic',
          scope: 'read',
        },
      ],
      resources: Object.fromEntries(
        NEW.map((alg) => [resource(alg), { scope: 'read', alg }]),
      ),
    });
  }, 30_000);
  afterAll(() => as?.stop());

  it.each(NEW)(
    '%s access tokens verify when declared, and are refused when not',
    async (alg) => {
      const t = await as.requestToken('c', 'c-secret', {
        resource: resource(alg),
        scope: 'read',
      });
      expect(headerOf(t)).toMatchObject({ alg, kid: `as-${alg}` });
      const verifier = (algorithms?: VerifyAlgorithm[]) =>
        new ServiceTokenVerifier({
          trustedIssuers: [
            {
              issuer: as.issuer,
              profile: 'oauth2',
              audience: resource(alg),
              ...(algorithms ? { algorithms } : {}),
            },
          ],
        });
      const ok = verifier([alg]);
      const claims = await ok.verify(t);
      expect(ok.callerOf(claims)).toEqual({ issuer: as.issuer, subject: 'c' });
      await expect(verifier().verify(t)).rejects.toMatchObject({
        code: JwtIssuerErrorCode.TOKEN_KEY_UNKNOWN,
      });
    },
  );
});

describe('the key checks hold for the new algorithms', () => {
  const weak = weakJwks();
  const rsaWeak = ['rsa-e1', 'rsa-e3', 'rsa-16384'];

  it.each(['PS256', 'RS384', 'RS512'] as const)(
    '%s: weak RSA keys (exponent 1 or 3, 16384-bit modulus) and keys under 2048 bits are refused',
    (alg) => {
      for (const kid of rsaWeak) {
        expect(() =>
          importVerificationJwk(
            { ...weak[kid], kid, alg },
            { algorithms: [alg] },
          ),
        ).toThrow(/refused/);
      }
      const small = generateKeyPairSync('rsa', {
        modulusLength: 1024,
      }).publicKey.export({ format: 'jwk' });
      expect(() =>
        importVerificationJwk(
          { ...small, kid: 's', alg },
          { algorithms: [alg] },
        ),
      ).toThrow(`does not fit ${alg}`);
    },
  );

  it.each([
    ['ES384', 'P-256'],
    ['ES512', 'P-384'],
  ] as const)(
    '%s: a key on another curve (%s), or a point off its curve, is refused',
    (alg, otherCurve) => {
      const other = generateKeyPairSync('ec', {
        namedCurve: otherCurve,
      }).publicKey.export({ format: 'jwk' });
      expect(() =>
        importVerificationJwk(
          { ...other, kid: 'o', alg },
          { algorithms: [alg] },
        ),
      ).toThrow(/refused/);
      const own = generateKeyPairSync('ec', {
        namedCurve: alg === 'ES384' ? 'P-384' : 'P-521',
      }).publicKey.export({ format: 'jwk' });
      const y = Buffer.from(own.y!, 'base64url');
      y[y.length - 1] ^= 1;
      expect(() =>
        importVerificationJwk(
          { ...own, y: y.toString('base64url'), kid: 'off', alg },
          { algorithms: [alg] },
        ),
      ).toThrow('off its curve');
    },
  );

  it('HMAC and none can never be declared', async () => {
    const { JwtIssuerModule } = await import('../../lib/index.js');
    const { Test } = await import('@nestjs/testing');
    const error = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: {
            trustedIssuers: [
              {
                issuer: 'https://a.test',
                jwksUri: 'https://a.test/jwks',
                algorithms: ['HS256' as never],
              },
              {
                issuer: 'https://b.test',
                jwksUri: 'https://b.test/jwks',
                algorithms: ['none' as never],
              },
            ],
          },
        }),
      ],
    })
      .compile()
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(error?.message).toContain('[0].algorithms must be a non-empty list');
    expect(error?.message).toContain('[1].algorithms must be a non-empty list');
  });
});
