import {
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  verify,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importVerificationJwk } from '../../lib/index.js';
import {
  forgeWithExponentOne,
  forgeWithIdentityKey,
  weakJwks,
} from '../support/hostile-jwks.js';

const refusal = (
  jwk: unknown,
  algorithms?: ('RS256' | 'ES256' | 'EdDSA')[],
) => {
  try {
    importVerificationJwk(jwk, { algorithms });
    return undefined;
  } catch (e) {
    return e as { code: string; message: string };
  }
};

describe('importVerificationJwk refuses keys that let anyone forge', () => {
  const weak = weakJwks();

  it.each(Object.keys(weak))('%s', (kid) => {
    const e = refusal({ ...weak[kid], kid });
    expect(e?.code).toBe('ERR_JWT_ISSUER_KEY_INVALID');
    expect(e?.message).toContain(`'${kid}'`);
  });

  it('node:crypto alone accepts all of them but the EC point off its curve (the checks are ours)', () => {
    const accepted = Object.entries(weak)
      .filter(([, jwk]) => {
        try {
          createPublicKey({ key: jwk as never, format: 'jwk' });
          return true;
        } catch {
          return false;
        }
      })
      .map(([kid]) => kid);
    expect(accepted).toEqual(
      Object.keys(weak).filter((k) => k !== 'ec-off-curve'),
    );
  });

  it('the forgeries these keys allow are real: raw crypto.verify accepts them', () => {
    const header = { alg: 'EdDSA', kid: 'ed-identity' };
    const payload = { sub: 'admin', exp: 9_999_999_999 };
    const [h, p, s] = forgeWithIdentityKey(header, payload).split('.');
    const identity = createPublicKey({
      key: weak['ed-identity'] as never,
      format: 'jwk',
    });
    expect(
      verify(
        null,
        Buffer.from(`${h}.${p}`),
        identity,
        Buffer.from(s, 'base64url'),
      ),
    ).toBe(true);
    const n = weak['rsa-e1'].n as string;
    const [h2, p2, s2] = forgeWithExponentOne(n, header, payload).split('.');
    const e1 = createPublicKey({ key: weak['rsa-e1'] as never, format: 'jwk' });
    expect(
      verify(
        'sha256',
        Buffer.from(`${h2}.${p2}`),
        e1,
        Buffer.from(s2, 'base64url'),
      ),
    ).toBe(true);
  });

  it('a modulus over 8192 bits is refused before it is parsed', () => {
    const n = Buffer.alloc(1 << 20, 0xff).toString('base64url'); // 8 Mbit
    const started = performance.now();
    expect(refusal({ kty: 'RSA', n, e: 'AQAB', kid: 'big' })?.message).toMatch(
      /longer than 8192 bits/,
    );
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('accepts a sound key of each kind (65537, 2048 to 8192 bits, Ed25519, P-256)', () => {
    for (const [type, alg] of [
      ['rsa', 'RS256'],
      ['ec', 'ES256'],
      ['ed25519', 'EdDSA'],
    ] as const) {
      const jwk = publicJwkOf(type);
      expect(importVerificationJwk({ ...jwk, kid: type, alg }).alg).toBe(alg);
    }
  });

  it('kids are sanitized and bounded in refusal messages', () => {
    const e = refusal({
      ...weak['ed-identity'],
      kid: `evil\n[ERROR] forged line\u001b[31m${'x'.repeat(200)}`,
    });
    expect(e?.message).not.toContain('\n');
    expect(e?.message).not.toContain('\u001b');
    expect(e?.message.length).toBeLessThan(200);
  });
});

const publicJwkOf = (type: 'rsa' | 'ec' | 'ed25519'): JsonWebKey => {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return pair.publicKey.export({ format: 'jwk' });
};

describe('importVerificationJwk binds a JWK without alg to one allowed algorithm', () => {
  it('by kty/crv with the default algorithms', () => {
    expect(importVerificationJwk({ ...publicJwkOf('rsa'), kid: 'r' }).alg).toBe(
      'RS256',
    );
    expect(importVerificationJwk({ ...publicJwkOf('ec'), kid: 'e' }).alg).toBe(
      'ES256',
    );
    expect(
      importVerificationJwk({ ...publicJwkOf('ed25519'), kid: 'o' }).alg,
    ).toBe('EdDSA');
  });

  it('refuses a key no allowed algorithm fits, and an alg the issuer does not allow', () => {
    expect(
      refusal({ ...publicJwkOf('rsa'), kid: 'r' }, ['ES256'])?.message,
    ).toMatch(/no allowed algorithm/);
    expect(
      refusal({ ...publicJwkOf('rsa'), kid: 'r', alg: 'RS256' }, ['ES256'])
        ?.message,
    ).toMatch(/not allowed/);
    const p384 = generateKeyPairSync('ec', {
      namedCurve: 'P-384',
    }).publicKey.export({
      format: 'jwk',
    });
    expect(refusal({ ...p384, kid: 'p384' })?.code).toBe(
      'ERR_JWT_ISSUER_KEY_INVALID',
    );
  });
});
