import 'reflect-metadata';
import { createPublicKey, verify } from 'node:crypto';
import {
  createAccount,
  createUser,
  fromPublic,
  fromSeed,
} from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import {
  formatUserCreds,
  issueUserJwt,
  JwtIssuerErrorCode,
} from '../../lib/index.js';
import { errorOf } from './nats-test-kit.js';

// Public test vector (the Java client's fixed inputs; the body method is ADR-14's): /work/shared/notes.
const USER_SEED = 'SUAGL3KX4ZBBD53BNNLSHGAAGCMXSEYZ6NTYUBUCPZQGHYNK3ZRQBUDPRY';
const USER = 'UA6KOMQ67XOE3FHE37W4OXADVXVYISBNLTBUT2LSY5VFKAIJ7CRDR2RZ';
const SIGNING_SEED =
  'SAANJIBNEKGCRUWJCPIWUXFBFJLR36FJTFKGBGKAT7AQXH2LVFNQWZJMQU';
const SIGNING_PUBLIC =
  'ADQ4BYM5KICR5OXDSP3S3WVJ5CYEORGQKT72SVRF2ZDVA7LTFKMCIPGY';
const ACCOUNT = 'ACXZRALIL22WRETDRXYKOYDB7XC3E7MBSVUSUMFACO6OM5VPRNFMOOO6';
const IAT = 1633043378;
const OTHER_USER_SEED =
  'SUAIW7IZ2YDQYLTE4FJ64ZBX7UMLCN57V6GHALKMUSMJCU5PJDNUO6BVUI';
const USER_AS_ACCOUNT =
  'UDN6WZFPYTS4YSUHUD4YFFU5NVKT6BVCY5QXQFYF3I23AER622SBOVUZ';

const MINIMAL_BODY =
  '{"iat":1633043378,"jti":"X4TWD4I3YGCAZ4PRKULOOUACR5W5AIKSM6MXVPJZBLXHZZMNFZAQ","iss":"ADQ4BYM5KICR5OXDSP3S3WVJ5CYEORGQKT72SVRF2ZDVA7LTFKMCIPGY","name":"UA6KOMQ67XOE3FHE37W4OXADVXVYISBNLTBUT2LSY5VFKAIJ7CRDR2RZ","nats":{"issuer_account":"ACXZRALIL22WRETDRXYKOYDB7XC3E7MBSVUSUMFACO6OM5VPRNFMOOO6","type":"user","version":2},"sub":"UA6KOMQ67XOE3FHE37W4OXADVXVYISBNLTBUT2LSY5VFKAIJ7CRDR2RZ"}';
const FULL_BODY =
  '{"exp":1633043478,"iat":1633043378,"jti":"43FXG2FKK7OY2QH7OJGYOD7BF2UFU447EDJZEPO3VSBNJJVAKJCA","iss":"ADQ4BYM5KICR5OXDSP3S3WVJ5CYEORGQKT72SVRF2ZDVA7LTFKMCIPGY","name":"name","nats":{"issuer_account":"ACXZRALIL22WRETDRXYKOYDB7XC3E7MBSVUSUMFACO6OM5VPRNFMOOO6","tags":["tag1","tag\\\\two"],"type":"user","version":2},"sub":"UA6KOMQ67XOE3FHE37W4OXADVXVYISBNLTBUT2LSY5VFKAIJ7CRDR2RZ"}';

const HEADER = Buffer.from('{"typ":"JWT","alg":"ed25519-nkey"}').toString(
  'base64url',
);

function parts(jwt: string): {
  header: string;
  body: string;
  input: string;
  sig: Buffer;
} {
  const [h, b, s] = jwt.split('.');
  return {
    header: Buffer.from(h, 'base64url').toString(),
    body: Buffer.from(b, 'base64url').toString(),
    input: `${h}.${b}`,
    sig: Buffer.from(s, 'base64url'),
  };
}

describe('issueUserJwt (ADR-14)', () => {
  it('the vector user seed belongs to the vector user key', () => {
    expect(fromSeed(new TextEncoder().encode(USER_SEED)).getPublicKey()).toBe(
      USER,
    );
  });

  it('gives the minimal vector body byte for byte, with the static header and a valid signature', () => {
    const jwt = issueUserJwt({
      signingKey: SIGNING_SEED,
      accountId: ACCOUNT,
      publicUserKey: USER,
      issuedAt: IAT,
    });
    const p = parts(jwt);
    expect(jwt.split('.')[0]).toBe(HEADER);
    expect(p.header).toBe('{"typ":"JWT","alg":"ed25519-nkey"}');
    expect(p.body).toBe(MINIMAL_BODY);
    expect(
      fromPublic(SIGNING_PUBLIC).verify(
        new TextEncoder().encode(p.input),
        p.sig,
      ),
    ).toBe(true);
    expect(jwt).not.toMatch(/=/);
  });

  it('gives the full vector body (name, expiration, tags with a backslash) byte for byte', () => {
    const jwt = issueUserJwt({
      signingKey: SIGNING_SEED,
      accountId: ACCOUNT,
      publicUserKey: USER,
      issuedAt: IAT,
      name: 'name',
      expiresIn: 100,
      tags: ['tag1', 'tag\\two'],
    });
    expect(parts(jwt).body).toBe(FULL_BODY);
  });

  it('leaves tags out when the list is empty, and exp out without an expiration', () => {
    const jwt = issueUserJwt({
      signingKey: SIGNING_SEED,
      accountId: ACCOUNT,
      publicUserKey: USER,
      issuedAt: IAT,
      tags: [],
    });
    expect(parts(jwt).body).toBe(MINIMAL_BODY);
  });

  it('defaults iat to now and signs verifiably with node:crypto', () => {
    const before = Math.floor(Date.now() / 1000);
    const jwt = issueUserJwt({
      signingKey: SIGNING_SEED,
      accountId: ACCOUNT,
      publicUserKey: USER,
      expiresIn: 60,
    });
    const body = JSON.parse(parts(jwt).body) as { iat: number; exp: number };
    expect(body.iat).toBeGreaterThanOrEqual(before);
    expect(body.exp).toBe(body.iat + 60);
    const raw = Buffer.from(fromPublic(SIGNING_PUBLIC).getPublicKey()); // sanity: nkeys accepts our iss
    expect(raw.length).toBeGreaterThan(0);
    const key = createPublicKey({
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        x: Buffer.from(base32Raw(SIGNING_PUBLIC)).toString('base64url'),
      },
      format: 'jwk',
    });
    const p = parts(jwt);
    expect(verify(null, Buffer.from(p.input), key, p.sig)).toBe(true);
  });

  it('writes the Go v2 user model for permissions/limits (non-scoped keys), unset numeric limits as -1', () => {
    const jwt = issueUserJwt({
      signingKey: SIGNING_SEED,
      accountId: ACCOUNT,
      publicUserKey: USER,
      issuedAt: IAT,
      permissions: {
        pub: { allow: ['a.>'], deny: ['a.b'] },
        sub: { allow: ['_INBOX.>'] },
        resp: { max: 1 },
      },
      limits: {
        subs: 10,
        src: ['127.0.0.1/32'],
        times: [{ start: '08:00:00', end: '17:00:00' }],
        timesLocation: 'UTC',
        allowedConnectionTypes: ['STANDARD'],
      },
    });
    const nats = (
      JSON.parse(parts(jwt).body) as { nats: Record<string, unknown> }
    ).nats;
    expect(nats).toEqual({
      pub: { allow: ['a.>'], deny: ['a.b'] },
      sub: { allow: ['_INBOX.>'] },
      resp: { max: 1, ttl: 0 },
      src: ['127.0.0.1/32'],
      times: [{ start: '08:00:00', end: '17:00:00' }],
      times_location: 'UTC',
      subs: 10,
      data: -1,
      payload: -1,
      allowed_connection_types: ['STANDARD'],
      issuer_account: ACCOUNT,
      type: 'user',
      version: 2,
    });
  });

  it('does not mutate the caller options', () => {
    const options = Object.freeze({
      signingKey: SIGNING_SEED,
      accountId: ACCOUNT,
      publicUserKey: USER,
      tags: Object.freeze(['a:b']),
      limits: Object.freeze({ subs: 1 }),
    });
    expect(() => issueUserJwt(options)).not.toThrow();
  });
});

function base32Raw(nkey: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of nkey) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Uint8Array.from(out.slice(1, 33));
}

describe('issueUserJwt refuses bad input with a stable code, naming the argument, never quoting the seed', () => {
  const good = {
    signingKey: SIGNING_SEED,
    accountId: ACCOUNT,
    publicUserKey: USER,
  };
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    [
      'a user seed as signing key',
      { signingKey: OTHER_USER_SEED },
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      /^signingKey: is a user seed; an account seed \(SA…\) is needed/,
    ],
    [
      'a public account key as signing key',
      { signingKey: SIGNING_PUBLIC },
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      /^signingKey: is a public account key, not a seed/,
    ],
    [
      'a missing signing key',
      { signingKey: undefined },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^signingKey: is required/,
    ],
    [
      'a signing key with a bad checksum',
      { signingKey: `${SIGNING_SEED.slice(0, -1)}A` },
      JwtIssuerErrorCode.NKEY_INVALID,
      /^signingKey: is not a valid nkey seed/,
    ],
    [
      'a signing key that is no nkey',
      { signingKey: 'SA-not-a-seed' },
      JwtIssuerErrorCode.NKEY_INVALID,
      /^signingKey: /,
    ],
    [
      'a user key as account',
      { accountId: USER_AS_ACCOUNT },
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      /^accountId: is a user key; an account key \(A…\) is needed/,
    ],
    [
      'a seed as account',
      { accountId: SIGNING_SEED },
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      /^accountId: is a seed/,
    ],
    [
      'an account key with a bad checksum',
      { accountId: `${ACCOUNT.slice(0, -2)}AA` },
      JwtIssuerErrorCode.NKEY_INVALID,
      /^accountId: /,
    ],
    [
      'an account key with a trailing character (accepted by nkeys.js, refused by Go)',
      { accountId: `${ACCOUNT}A` },
      JwtIssuerErrorCode.NKEY_INVALID,
      /^accountId: is not a valid public nkey \(must be 56/,
    ],
    [
      'a signing seed with a trailing character',
      { signingKey: `${SIGNING_SEED}A` },
      JwtIssuerErrorCode.NKEY_INVALID,
      /^signingKey: is not a valid nkey seed \(must be 58/,
    ],
    [
      'a missing account',
      { accountId: '' },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^accountId: is required/,
    ],
    [
      'an account key as user',
      { publicUserKey: ACCOUNT },
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      /^publicUserKey: is an account key; a user key \(U…\) is needed/,
    ],
    [
      'a user seed as user',
      { publicUserKey: USER_SEED },
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      /^publicUserKey: is a seed/,
    ],
    [
      'a missing user',
      { publicUserKey: undefined },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^publicUserKey: is required/,
    ],
    [
      'a negative expiration',
      { expiresIn: -5 },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^expiresIn: must be a whole number of seconds/,
    ],
    [
      'an infinite expiration',
      { expiresIn: Infinity },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^expiresIn: /,
    ],
    [
      'a NaN expiration',
      { expiresIn: NaN },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^expiresIn: /,
    ],
    [
      'a zero expiration',
      { expiresIn: 0 },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^expiresIn: /,
    ],
    [
      'an expiration as text',
      { expiresIn: '60' },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^expiresIn: /,
    ],
    [
      'a non-string tag',
      { tags: ['ok', 7] },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^tags\[1\]: must be a non-empty string/,
    ],
    [
      'tags that are no list',
      { tags: 'team:blue' },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^tags: must be an array/,
    ],
    [
      'an empty name',
      { name: '' },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^name: /,
    ],
    [
      'a non-string name',
      { name: 42 },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^name: /,
    ],
    [
      'a fractional issuedAt',
      { issuedAt: 1.5 },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^issuedAt: /,
    ],
    [
      'a bad permission list',
      { permissions: { pub: { allow: 'x' } } },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^permissions\.pub\.allow: /,
    ],
    [
      'a bad limit',
      { limits: { subs: 1.5 } },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^limits\.subs: /,
    ],
    [
      'an unknown connection type',
      { limits: { allowedConnectionTypes: ['TELNET'] } },
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      /^limits\.allowedConnectionTypes\[0\]: /,
    ],
  ];
  it.each(cases)('%s', (_label, change, code, message) => {
    const err = errorOf(() => issueUserJwt({ ...good, ...change } as never));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    for (const secret of [
      SIGNING_SEED,
      OTHER_USER_SEED,
      USER_SEED,
      SIGNING_SEED.slice(0, -1),
    ]) {
      expect(err.message).not.toContain(secret);
      expect(String(err.stack)).not.toContain(secret);
    }
  });

  it('refuses a non-object', () => {
    expect(errorOf(() => issueUserJwt(undefined as never)).code).toBe(
      JwtIssuerErrorCode.INVALID_ARGUMENT,
    );
  });
});

describe('formatUserCreds', () => {
  it('writes the Go FormatUserConfig layout', () => {
    const user = createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const jwt = issueUserJwt({
      signingKey: SIGNING_SEED,
      accountId: ACCOUNT,
      publicUserKey: user.getPublicKey(),
    });
    const creds = formatUserCreds(jwt, seed);
    expect(creds).toBe(
      `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` +
        '************************* IMPORTANT *************************\n' +
        'NKEY Seed printed below can be used to sign and prove identity.\n' +
        'NKEYs are sensitive and should be treated as secrets.\n\n' +
        `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n\n` +
        '*************************************************************\n',
    );
  });

  it('refuses an account seed or a non-JWT, without quoting the seed', () => {
    const account = new TextDecoder().decode(createAccount().getSeed());
    const err = errorOf(() => formatUserCreds('a.b.c', account));
    expect(err.code).toBe(JwtIssuerErrorCode.NKEY_WRONG_TYPE);
    expect(err.message).not.toContain(account);
    expect(errorOf(() => formatUserCreds('not a jwt', USER_SEED)).code).toBe(
      JwtIssuerErrorCode.INVALID_ARGUMENT,
    );
  });
});
