import 'reflect-metadata';
import {
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as cryptoSign,
} from 'node:crypto';
import { Controller, Get, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  importVerificationJwk,
  JwtVerifier,
  type KeySource,
  ServiceTokenGuard,
  type ServiceTokenRequest,
  ServiceTokenVerifier,
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

  it('refuses a signed payload that is not UTF-8 (distinct bytes would read as the same claims)', () => {
    const { verifier, keys } = setup();
    const header = b64({ alg: 'EdDSA', kid: 'k-EdDSA' });
    const bytes = Buffer.from(JSON.stringify(claims({ sub: 'm1x' })));
    bytes[bytes.indexOf('m1x') + 2] = 0xff; // reads as U+FFFD
    const input = `${header}.${bytes.toString('base64url')}`;
    const t = `${input}.${cryptoSign(null, Buffer.from(input), keys.EdDSA.privateKey).toString('base64url')}`;
    expect(code(() => verifier.verifySync(t))).toBe(
      'ERR_JWT_ISSUER_TOKEN_MALFORMED',
    );
  });

  it('a signed payload nested deeper than the call stack is verified, frozen and cached', () => {
    const { keys } = setup();
    const verifier = new JwtVerifier({
      sources: [
        {
          issuer: ISS,
          get: (kid) =>
            kid === 'k-EdDSA'
              ? { kid, alg: 'EdDSA', key: keys.EdDSA.publicKey, active: true }
              : undefined,
        },
      ],
      maxTokenBytes: 1 << 20,
    });
    const depth = 200_000;
    const json = `${JSON.stringify(claims()).slice(0, -1)},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const input = `${b64({ alg: 'EdDSA', kid: 'k-EdDSA' })}.${b64(json)}`;
    const t = `${input}.${cryptoSign(null, Buffer.from(input), keys.EdDSA.privateKey).toString('base64url')}`;
    verifier.verifySync(t); // first sight
    const out = verifier.verifySync(t); // second sight: cached
    expect(Object.isFrozen(out.deep)).toBe(true);
    expect(verifier.verifySync(t)).toBe(out);
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

  it('serves verified tokens from the cache, but never past exp', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, sign } = setup();
    const t = sign('RS256', claims({ exp: now() + 10 }));
    verifier.verifySync(t);
    const first = verifier.verifySync(t);
    expect(verifier.cachedTokens).toBe(1);
    expect(Object.isFrozen(first)).toBe(true);
    expect(verifier.verifySync(t)).toBe(first); // same object: from the cache
    vi.setSystemTime(Date.now() + 10_500); // past exp, within tolerance: verified again, not served
    const again = verifier.verifySync(t);
    expect(again).not.toBe(first);
    expect(verifier.verifySync(t)).not.toBe(again);
    expect(verifier.cachedTokens).toBe(0); // the expired entry went, the token was not kept again
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

  it('a working set larger than the cache stays correct and bounded, and a smaller one is served from it again', () => {
    const { verifier, sign } = setup({ cacheSize: 4 });
    const tokens = Array.from({ length: 8 }, (_, i) =>
      sign('EdDSA', claims({ n: i })),
    );
    // 8 tokens in turn through a cache of 4: every lookup misses (LRU thrashing), every answer is right.
    for (let i = 0; i < 200; i++) {
      const n = i % tokens.length;
      expect(verifier.verifySync(tokens[n]).n).toBe(n);
      expect(verifier.cachedTokens).toBeLessThanOrEqual(4);
    }
    const [h, , sig] = tokens[0].split('.');
    const evil = `${h}.${b64(claims({ n: 0, sub: 'admin' }))}.${sig}`;
    expect(code(() => verifier.verifySync(evil))).toBe(
      'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
    );
    // The working set shrinks to one token: served from the cache (the same frozen object comes back).
    const hot = tokens[3];
    const first = verifier.verifySync(hot);
    expect(verifier.verifySync(hot)).toBe(first);
  });

  it('an expired entry is dropped when met and never served; the cache stays within its size', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, sign } = setup({ cacheSize: 100 });
    const short = Array.from({ length: 50 }, (_, i) =>
      sign('EdDSA', claims({ n: i, exp: now() + 30 })),
    );
    for (const t of short) {
      verifier.verifySync(t);
      verifier.verifySync(t); // second sight: cached
    }
    expect(verifier.cachedTokens).toBe(50);
    vi.setSystemTime(Date.now() + 40_000);
    expect(code(() => verifier.verifySync(short[7]))).toBe(
      'ERR_JWT_ISSUER_TOKEN_EXPIRED',
    );
    expect(verifier.cachedTokens).toBe(49);
    const live = Array.from({ length: 120 }, (_, i) =>
      sign('EdDSA', claims({ n: 100 + i, exp: now() + 600 })),
    );
    const first = live.map(
      (t) => (verifier.verifySync(t), verifier.verifySync(t)),
    );
    expect(verifier.cachedTokens).toBe(100);
    // The 100 most recent live tokens are served from the cache (the same frozen objects).
    for (let i = 20; i < live.length; i++) {
      expect(verifier.verifySync(live[i])).toBe(first[i]);
    }
    for (const t of short) {
      expect(code(() => verifier.verifySync(t))).toBe(
        'ERR_JWT_ISSUER_TOKEN_EXPIRED',
      );
    }
  });

  it('caches a token from its second sight; a first sight leaves the claims to the caller', () => {
    const { verifier, sign } = setup();
    const t = sign('EdDSA');
    const first = verifier.verifySync(t);
    expect(verifier.cachedTokens).toBe(0);
    expect(Object.isFrozen(first)).toBe(false); // not shared: nobody else gets this object
    const second = verifier.verifySync(t);
    expect(second).not.toBe(first);
    expect(Object.isFrozen(second)).toBe(true);
    expect(verifier.cachedTokens).toBe(1);
    expect(verifier.verifySync(t)).toBe(second); // third sight: a hit
    verifier.clearCache(); // forgets first sights too
    verifier.verifySync(t);
    expect(verifier.cachedTokens).toBe(0);
  });

  it('a burst of tokens met once does not flush the working set out of the cache', () => {
    const { verifier, sign } = setup({ cacheSize: 8 });
    const working = Array.from({ length: 4 }, (_, i) =>
      sign('EdDSA', claims({ n: i })),
    );
    const cached = working.map(
      (t) => (verifier.verifySync(t), verifier.verifySync(t)),
    );
    // 40 times the cache in one-off tokens: an LRU admitting every token would have evicted the working set 40 times.
    for (let i = 0; i < 320; i++) {
      expect(verifier.verifySync(sign('EdDSA', claims({ n: 100 + i }))).n).toBe(
        100 + i,
      );
    }
    expect(verifier.cachedTokens).toBe(4);
    working.forEach((t, i) => expect(verifier.verifySync(t)).toBe(cached[i]));
  });

  it('a token that keeps coming back among many one-off tokens is cached by its third sight (never starved)', () => {
    // Cache of 16: first sights are remembered in a set emptied every 64. Each hot token comes back after 28 one-off
    // tokens and the 2 other hot tokens (30 < 2 × 16 first sights): admitted on its second sight, or on its third
    // when the set was emptied in between; never later, however long the flood of one-off tokens goes on.
    const { verifier, sign } = setup({ cacheSize: 16 });
    const hot = Array.from({ length: 3 }, (_, i) =>
      sign('EdDSA', claims({ hot: i })),
    );
    const cachedAt: (number | undefined)[] = hot.map(() => undefined);
    let oneOff = 0;
    for (let sight = 1; sight <= 20; sight++) {
      hot.forEach((t, i) => {
        if (cachedAt[i] !== undefined) return;
        const before = verifier.cachedTokens;
        verifier.verifySync(t);
        if (verifier.cachedTokens > before) cachedAt[i] = sight;
      });
      for (let n = 0; n < 28; n++) {
        verifier.verifySync(sign('EdDSA', claims({ n: oneOff++ })));
      }
    }
    for (const sight of cachedAt) {
      expect(sight).toBeGreaterThanOrEqual(2); // never on the first sight
      expect(sight).toBeLessThanOrEqual(3);
    }
    expect(verifier.cachedTokens).toBe(3); // and no one-off token was cached
    hot.forEach((t) =>
      expect(verifier.verifySync(t)).toBe(verifier.verifySync(t)),
    );
  });

  it('a tampered token never hits the cache entry of the genuine one', () => {
    const { verifier, sign } = setup();
    const t = sign('RS256');
    verifier.verifySync(t);
    const cached = verifier.verifySync(t); // second sight: now cached
    expect(verifier.cachedTokens).toBe(1);
    const [h, , s] = t.split('.'); // same signature, so the same lookup key: only the digest tells them apart
    const evil = `${h}.${b64(claims({ sub: 'admin' }))}.${s}`;
    for (let i = 0; i < 3; i++) {
      expect(code(() => verifier.verifySync(evil))).toBe(
        'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
      );
    }
    // The genuine entry is still there, untouched.
    expect(verifier.cachedTokens).toBe(1);
    expect(verifier.verifySync(t)).toBe(cached);
  });
});

/**
 * Respellings of one character that Node's base64url decoder and a latin1 signing input read as that character
 * (both keep the low byte of each UTF-16 unit): U+0100+c (`A` → `Ł`), fullwidth U+FF00+c (`A` → `ｅ`, `.` → `．`).
 */
const twins = (c: string): string[] => [
  String.fromCharCode(0x100 | c.charCodeAt(0)),
  String.fromCharCode(0xff00 | c.charCodeAt(0)),
];

describe('token spelling: one string per token', () => {
  it('a respelled token decodes and signs as the original one (what the check is for)', () => {
    const { sign } = setup();
    const [h, p, s] = sign('RS256').split('.');
    const spelled = `${h}.${p.slice(0, 5)}${twins(p[5])[0]}${p.slice(6)}.${s}`;
    expect(spelled).not.toBe(`${h}.${p}.${s}`);
    expect(Buffer.from(spelled.split('.')[1], 'base64url')).toEqual(
      Buffer.from(p, 'base64url'),
    );
    expect(
      Buffer.from(spelled.slice(0, spelled.lastIndexOf('.')), 'latin1'),
    ).toEqual(Buffer.from(`${h}.${p}`, 'latin1'));
  });

  it.each<Alg>(['RS256', 'ES256', 'EdDSA'])(
    'refuses %s tokens with any character respelled outside ASCII, in every segment, cached or not',
    (alg) => {
      const { verifier, sign } = setup();
      const good = sign(alg);
      verifier.verifySync(good);
      verifier.verifySync(good); // cached now
      const [h, p] = good.split('.');
      const positions = [
        0,
        7,
        h.length,
        h.length + 9,
        h.length + p.length + 1,
        good.length - 1,
      ];
      for (const at of positions) {
        for (const twin of twins(good[at])) {
          const respelled = good.slice(0, at) + twin + good.slice(at + 1);
          expect(
            code(() => verifier.verifySync(respelled)),
            `${at}: U+${twin.charCodeAt(0).toString(16)}`,
          ).toBe('ERR_JWT_ISSUER_TOKEN_MALFORMED');
        }
      }
      expect(verifier.verifySync(good).sub).toBe('m1');
    },
  );

  it('refuses padding, whitespace, other alphabets and dots in any number but two', () => {
    const { verifier, sign } = setup();
    const good = sign('ES256');
    const [h, p, s] = good.split('.');
    for (const t of [
      `${h}.${p}.${s}==`,
      `${h}.${p}=.${s}`,
      ` ${good}`,
      `${good}\n`,
      `${good}\u0000`,
      `\ufeff${good}`,
      `${h}.${p}.${s.slice(0, 10)}\t${s.slice(10)}`,
      `${h}.${p.replaceAll('-', '+').replaceAll('_', '/')}x.${s}`,
      `${h}..${p}.${s}`,
      `${h}.${p}.${s}.`,
      `${h}${twins('.')[1]}${p}.${s}`,
      `${h}.${p}.${s}${twins('A')[0]}`,
    ]) {
      expect(
        code(() => verifier.verifySync(t)),
        JSON.stringify(t.slice(-12)),
      ).toBe('ERR_JWT_ISSUER_TOKEN_MALFORMED');
    }
  });

  it('every path refuses a respelled token: verify, verifySync, verifyFast, the guard and a subclass extractToken', async () => {
    const { entries, sign } = setup();
    const good = sign('EdDSA');
    const respelled = good.slice(0, 4) + twins(good[4])[0] + good.slice(5);
    const verifier = new ServiceTokenVerifier({
      localKeys: [{ issuer: ISS, get: (kid) => entries.get(kid) }],
    });
    expect((await verifier.verify(good)).sub).toBe('m1');
    await expect(verifier.verify(respelled)).rejects.toMatchObject({
      code: 'ERR_JWT_ISSUER_TOKEN_MALFORMED',
    });
    expect(code(() => verifier.verifySync(respelled))).toBe(
      'ERR_JWT_ISSUER_TOKEN_MALFORMED',
    );
    expect(code(() => verifier.verifyFast(respelled))).toBe(
      'ERR_JWT_ISSUER_TOKEN_MALFORMED',
    );

    @Controller()
    class Routes {
      @Get()
      route(): void {}
    }
    // A subclass that reads its token from elsewhere: the verifier still checks the spelling.
    class HeaderGuard extends ServiceTokenGuard {
      protected override extractToken(request: ServiceTokenRequest) {
        const v = request.headers['x-service-token'];
        return typeof v === 'string' ? v : undefined;
      }
    }
    const call = (
      guard: ServiceTokenGuard,
      headers: Record<string, string>,
    ): unknown => {
      const context = new ExecutionContextHost(
        [{ headers, method: 'GET', url: '/' }, { setHeader: () => undefined }],
        Routes,
        Routes.prototype.route,
      );
      context.setType('http');
      try {
        return guard.canActivate(context);
      } catch (e) {
        return e;
      }
    };
    const guard = new ServiceTokenGuard(new Reflector(), verifier);
    const sub = new HeaderGuard(new Reflector(), verifier);
    vi.spyOn(guard['logger'], 'warn').mockImplementation(() => undefined);
    vi.spyOn(sub['logger'], 'warn').mockImplementation(() => undefined);
    expect(call(guard, { authorization: `Bearer ${good}` })).toBe(true);
    expect(
      call(guard, { authorization: `Bearer ${respelled}` }),
    ).toBeInstanceOf(UnauthorizedException);
    expect(call(sub, { 'x-service-token': good })).toBe(true);
    expect(call(sub, { 'x-service-token': respelled })).toBeInstanceOf(
      UnauthorizedException,
    );
    expect(guard['logger'].warn).toHaveBeenCalledWith(
      expect.stringContaining('ERR_JWT_ISSUER_TOKEN_MALFORMED'),
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
