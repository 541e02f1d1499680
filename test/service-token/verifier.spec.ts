import 'reflect-metadata';
import {
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  importVerificationJwk,
  JwtVerifier,
  type KeySource,
  type VerificationKey,
} from '../../lib/index.js';
import { b64, forge } from '../support/forge.js';

const ISS = 'https://m1.test';
const now = (): number => Math.floor(Date.now() / 1000);
const claims = (
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  source: 'microservice',
  iss: ISS,
  sub: 'm1',
  iat: now(),
  exp: now() + 60,
  ...extra,
});

type Alg = 'RS256' | 'ES256' | 'EdDSA';
function pair(alg: Alg): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === 'RS256')
    return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'ES256')
    return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('ed25519');
}

function setup(
  options: {
    audience?: string[];
    cacheSize?: number;
    maxTokenBytes?: number;
  } = {},
) {
  const keys = {
    RS256: pair('RS256'),
    ES256: pair('ES256'),
    EdDSA: pair('EdDSA'),
  };
  const entries = new Map<string, VerificationKey>(
    (Object.keys(keys) as Alg[]).map((alg) => [
      `k-${alg}`,
      { kid: `k-${alg}`, alg, key: keys[alg].publicKey, active: true },
    ]),
  );
  const source: KeySource = { issuer: ISS, get: (kid) => entries.get(kid) };
  const verifier = new JwtVerifier({
    sources: [source],
    requiredClaims: { source: 'microservice' },
    ...options,
  });
  const sign = (
    alg: Alg,
    payload = claims(),
    header: Record<string, unknown> = {},
  ) =>
    forge(
      { alg, kid: `k-${alg}`, typ: 'JWT', ...header },
      payload,
      keys[alg].privateKey,
      alg,
    );
  return { keys, entries, verifier, sign };
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('JwtVerifier', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each<Alg>(['RS256', 'ES256', 'EdDSA'])(
    'verifies %s tokens; cached claims are frozen',
    (alg) => {
      const { verifier, sign } = setup();
      const t = sign(alg, claims({ aud: ['a', 'b'] }));
      expect(verifier.verifySync(t)).toMatchObject({ sub: 'm1', iss: ISS });
      const out = verifier.verifySync(t); // second time: cached, shared
      expect(out).toMatchObject({ sub: 'm1', iss: ISS });
      expect(Object.isFrozen(out)).toBe(true);
      expect(Object.isFrozen(out.aud)).toBe(true);
    },
  );

  it('refuses an ES256 signature in DER form (JWS needs IEEE P1363)', () => {
    const { verifier, keys } = setup();
    const der = forge(
      { alg: 'ES256', kid: 'k-ES256' },
      claims(),
      keys.ES256.privateKey,
      'ES256-DER',
    );
    expect(code(() => verifier.verifySync(der))).toBe(
      'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
    );
  });

  it('binds algorithms to keys: another alg on a key is refused, even with a valid signature of that alg', () => {
    const { verifier, keys } = setup();
    // EdDSA-signed token that names the ES256 key
    const t = forge(
      { alg: 'EdDSA', kid: 'k-ES256' },
      claims(),
      keys.EdDSA.privateKey,
      'EdDSA',
    );
    expect(code(() => verifier.verifySync(t))).toBe(
      'ERR_JWT_ISSUER_TOKEN_HEADER_REFUSED',
    );
    const hs = forge(
      { alg: 'HS256', kid: 'k-RS256' },
      claims(),
      Buffer.from(keys.RS256.publicKey.export({ format: 'pem', type: 'spki' })),
      'HS256',
    );
    expect(code(() => verifier.verifySync(hs))).toBe(
      'ERR_JWT_ISSUER_TOKEN_HEADER_REFUSED',
    );
    for (const alg of ['none', 'None', 'RS512', 'PS256', 'HS512']) {
      const t2 = `${b64({ alg, kid: 'k-RS256' })}.${b64(claims())}.AAAA`;
      expect(code(() => verifier.verifySync(t2))).toBe(
        'ERR_JWT_ISSUER_TOKEN_HEADER_REFUSED',
      );
    }
  });

  it.each(['crit', 'jku', 'x5u', 'jwk', 'x5c', 'b64', 'zip'])(
    'refuses the %s header even on an otherwise valid token',
    (name) => {
      const { verifier, sign } = setup();
      const t = sign('RS256', claims(), {
        [name]: name === 'crit' ? ['exp'] : 'http://127.0.0.1:9/x',
      });
      expect(code(() => verifier.verifySync(t))).toBe(
        'ERR_JWT_ISSUER_TOKEN_HEADER_REFUSED',
      );
    },
  );

  it('refuses an oversized token before parsing anything', () => {
    const { verifier, sign } = setup({ maxTokenBytes: 1024 });
    const valid = sign('ES256', claims({ pad: 'x'.repeat(2000) }));
    expect(code(() => verifier.verifySync(valid))).toBe(
      'ERR_JWT_ISSUER_TOKEN_TOO_LARGE',
    );
    // Garbage of the same size gets the same answer: nothing was parsed.
    expect(code(() => verifier.verifySync('!'.repeat(1025)))).toBe(
      'ERR_JWT_ISSUER_TOKEN_TOO_LARGE',
    );
    expect(code(() => verifier.verifySync('!'.repeat(1024)))).toBe(
      'ERR_JWT_ISSUER_TOKEN_MALFORMED',
    );
  });

  it('refuses malformed structure, base64url and JSON', () => {
    const { verifier, sign } = setup();
    const good = sign('ES256');
    const [h, p, s] = good.split('.');
    const cases = [
      '',
      'abc',
      `${h}.${p}`,
      `${h}.${p}.${s}.`,
      `.${p}.${s}`,
      `${h}..${s}`,
      `${h}.${p}.`,
      `${h}.${p}=.${s}`,
      `${h}.${p.slice(0, -1)}+.${s}`,
      `${h}.${p} .${s}`,
      `${h}.${p.slice(0, -1)}/.${s}`,
      `${h}.${p.slice(0, -2)}\u00e9A.${s}`,
      `${h}.${p}.${s.slice(0, -2)}=A`,
      `${h}.${p}.!${s.slice(1)}`,
      `${h}.${b64('not json')}.${s}`,
      `${h}.${b64('[1,2]')}.${s}`,
      `${h}.${b64('null')}.${s}`,
      `${b64('"str"')}.${p}.${s}`,
      `${h}.${p}.${s}AAA`, // 89 chars: a length of 4n+1 is never base64url
    ];
    for (const t of cases) {
      expect(
        code(() => verifier.verifySync(t)),
        t.slice(0, 40),
      ).toBe('ERR_JWT_ISSUER_TOKEN_MALFORMED');
    }
    expect(code(() => verifier.verifySync(42 as unknown as string))).toBe(
      'ERR_JWT_ISSUER_TOKEN_MALFORMED',
    );
  });

  it('refuses non-canonical base64url (same bytes, another string)', () => {
    const { verifier, sign } = setup();
    const good = sign('ES256'); // 64-byte signature: 86 chars, the last one carries 4 unused bits
    const [h, p, s] = good.split('.');
    const alphabet =
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(s.at(-1)!);
    const twin = `${h}.${p}.${s.slice(0, -1)}${alphabet[last | 1]}`;
    expect(Buffer.from(twin.split('.')[2], 'base64url')).toEqual(
      Buffer.from(s, 'base64url'),
    );
    expect(verifier.verifySync(good).sub).toBe('m1');
    expect(code(() => verifier.verifySync(twin))).toBe(
      'ERR_JWT_ISSUER_TOKEN_MALFORMED',
    );
  });

  it('checks exp (required), nbf and iat with the clock tolerance, iss, aud and source', () => {
    const { verifier, sign } = setup({ audience: ['m2'] });
    const ok = (extra: Record<string, unknown>) =>
      code(() =>
        verifier.verifySync(sign('RS256', claims({ aud: 'm2', ...extra }))),
      );
    expect(ok({})).toBeUndefined();
    expect(ok({ exp: now() - 3 })).toBeUndefined(); // within the 5 s tolerance
    expect(ok({ exp: now() - 10 })).toBe('ERR_JWT_ISSUER_TOKEN_EXPIRED');
    expect(ok({ exp: undefined })).toBe('ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID');
    expect(ok({ exp: '9999999999' })).toBe(
      'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
    );
    expect(ok({ nbf: now() + 3 })).toBeUndefined();
    expect(ok({ nbf: now() + 60 })).toBe('ERR_JWT_ISSUER_TOKEN_NOT_YET_VALID');
    expect(ok({ iat: now() + 60 })).toBe('ERR_JWT_ISSUER_TOKEN_NOT_YET_VALID');
    expect(ok({ aud: ['x', 'm2'] })).toBeUndefined();
    expect(ok({ aud: 'm3' })).toBe('ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID');
    expect(ok({ aud: undefined })).toBe('ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID');
    expect(ok({ source: undefined })).toBe(
      'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
    );
    expect(ok({ source: 'user' })).toBe('ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID');
    expect(ok({ iss: 'https://evil.test' })).toBe(
      'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
    );
    expect(ok({ iss: undefined })).toBe('ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID');
  });

  it('an issuer can only use its own keys: a kid of issuer A does not verify a token claiming issuer B', () => {
    const a = pair('ES256');
    const b = pair('ES256');
    const verifier = new JwtVerifier({
      sources: [
        {
          issuer: 'A',
          get: (kid) =>
            kid === 'ka'
              ? { kid, alg: 'ES256', key: a.publicKey, active: true }
              : undefined,
        },
        {
          issuer: 'B',
          get: (kid) =>
            kid === 'kb'
              ? { kid, alg: 'ES256', key: b.publicKey, active: true }
              : undefined,
        },
      ],
    });
    const t = forge(
      { alg: 'ES256', kid: 'ka' },
      claims({ iss: 'B' }),
      a.privateKey,
      'ES256',
    );
    expect(code(() => verifier.verifySync(t))).toBe(
      'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
    );
  });

  it('serves repeated tokens from the cache (from their second verification on), but never past exp', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, sign } = setup();
    const t = sign('RS256', claims({ exp: now() + 10 }));
    verifier.verifySync(t);
    expect(verifier.cachedTokens).toBe(0); // a one-off token is not cached
    const first = verifier.verifySync(t);
    expect(verifier.cachedTokens).toBe(1);
    expect(verifier.verifySync(t)).toBe(first); // same object: from the cache
    vi.setSystemTime(Date.now() + 10_500); // past exp, within tolerance: verified again, not served
    const again = verifier.verifySync(t);
    expect(again).not.toBe(first);
    vi.setSystemTime(Date.now() + 10_000); // beyond tolerance
    expect(code(() => verifier.verifySync(t))).toBe(
      'ERR_JWT_ISSUER_TOKEN_EXPIRED',
    );
  });

  it('the cache is bounded (LRU) and forgets tokens of withdrawn keys', () => {
    const { verifier, sign, entries } = setup({ cacheSize: 3 });
    const tokens = [1, 2, 3, 4].map((i) => sign('EdDSA', claims({ n: i })));
    const twice = (t: string) => (
      verifier.verifySync(t),
      verifier.verifySync(t)
    );
    const first = twice(tokens[0]);
    const second = twice(tokens[1]);
    twice(tokens[2]);
    expect(verifier.verifySync(tokens[0])).toBe(first); // touch: now most recent
    twice(tokens[3]); // evicts tokens[1], the least recently used
    expect(verifier.cachedTokens).toBe(3);
    expect(verifier.verifySync(tokens[0])).toBe(first);
    expect(verifier.verifySync(tokens[1])).not.toBe(second);
    entries.get('k-EdDSA')!.active = false;
    entries.delete('k-EdDSA');
    expect(code(() => verifier.verifySync(tokens[0]))).toBe(
      'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
    );
  });

  it('when repeated tokens outgrow the cache it samples probes, stays correct, and recovers', () => {
    const { verifier, sign } = setup({ cacheSize: 4 });
    const probing = () =>
      (verifier as unknown as { probeEvery: number }).probeEvery;
    const tokens = Array.from({ length: 8 }, (_, i) =>
      sign('EdDSA', claims({ n: i })),
    );
    // 8 tokens in turn through a cache of 4 (all remembered as seen): every probe misses, LRU thrashing.
    for (let i = 0; i < 2600; i++) {
      const n = i % tokens.length;
      expect(verifier.verifySync(tokens[n]).n).toBe(n);
    }
    expect(probing()).toBeGreaterThan(1);
    // Sampling never skips a check: a forged token is still refused.
    const [h, , sig] = tokens[0].split('.');
    const evil = `${h}.${b64(claims({ n: 0, sub: 'admin' }))}.${sig}`;
    expect(code(() => verifier.verifySync(evil))).toBe(
      'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
    );
    // The working set shrinks to one token: it is cached again (the same frozen object comes back).
    const hot = tokens[3];
    for (let i = 0; i < 9000 && probing() > 1; i++) {
      expect(verifier.verifySync(hot).n).toBe(3);
    }
    expect(probing()).toBe(1);
    expect(verifier.verifySync(hot)).toBe(verifier.verifySync(hot));
  });

  it('a tampered token never hits the cache entry of the genuine one', () => {
    const { verifier, sign } = setup();
    const t = sign('RS256');
    verifier.verifySync(t);
    verifier.verifySync(t); // now cached
    expect(verifier.cachedTokens).toBe(1);
    const [h, , s] = t.split('.'); // same signature, so the same noted tail
    const evil = `${h}.${b64(claims({ sub: 'admin' }))}.${s}`;
    expect(code(() => verifier.verifySync(evil))).toBe(
      'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
    );
  });
});

describe('importVerificationJwk', () => {
  const ec = pair('ES256');
  const jwk = {
    ...ec.publicKey.export({ format: 'jwk' }),
    kid: 'k1',
    alg: 'ES256',
    use: 'sig',
  };

  it('imports a public JWK bound to its alg', () => {
    const k = importVerificationJwk(jwk);
    expect(k).toMatchObject({ kid: 'k1', alg: 'ES256', active: true });
    expect(k.key.type).toBe('public');
  });

  it.each([
    ['no alg and no algorithm fits', { ...jwk, alg: undefined, crv: 'P-384' }],
    ['alg none', { ...jwk, alg: 'none' }],
    ['HS256', { ...jwk, alg: 'HS256' }],
    ['alg not fitting kty', { ...jwk, alg: 'RS256' }],
    ['use enc', { ...jwk, use: 'enc' }],
    ['key_ops without verify', { ...jwk, key_ops: ['encrypt'] }],
    ['no kid', { ...jwk, kid: undefined }],
    [
      'private members',
      { ...ec.privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' },
    ],
    ['a secret key', { kty: 'oct', k: 'c2VjcmV0', kid: 'k1', alg: 'HS256' }],
    ['garbage coordinates', { ...jwk, x: 'AAAA' }],
    [
      'a small RSA key',
      {
        ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export(
          { format: 'jwk' },
        ),
        kid: 'r',
        alg: 'RS256',
      },
    ],
    ['not an object', 'jwk'],
  ])('refuses %s', (_name, bad) => {
    expect(code(() => importVerificationJwk(bad))).toBe(
      'ERR_JWT_ISSUER_KEY_INVALID',
    );
  });

  it('keys of every supported algorithm round-trip', () => {
    for (const alg of ['RS256', 'EdDSA'] as const) {
      const p = pair(alg);
      const k = importVerificationJwk({
        ...createPublicKey(p.privateKey).export({ format: 'jwk' }),
        kid: 'x',
        alg,
      });
      expect(k.alg).toBe(alg);
    }
  });
});
