import 'reflect-metadata';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNatsDevelopmentAccount, issueUserJwt } from '../../lib/index.js';
import { decodeSeed, generateNkey } from '../../lib/nats/nkey.js';
import { NkeyJwtSigner, rawCodecs } from '../../lib/nats/nkey-jwt.js';
import { seededRandom } from '../../bench/token-fuzzer.js';

// The signer writes JWT bodies byte by byte for speed; these tests hold it to the plain construction: the body as
// JSON.stringify writes it, ADR-14's jti over the body with "jti":"", an Ed25519 signature over header.body.

const HEADER = Buffer.from('{"typ":"JWT","alg":"ed25519-nkey"}').toString(
  'base64url',
);

/** RFC 4648 base32, unpadded (written here, not taken from the code under test). */
function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) {
    out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  }
  return out;
}

/** The body JSON.stringify gives for these members in this order, with ADR-14's jti put in. */
function expectedBody(members: Record<string, unknown>): string {
  const withoutJti = JSON.stringify(members);
  const jti = base32(createHash('sha256').update(withoutJti).digest());
  return JSON.stringify({ ...members, jti });
}

function decoded(jwt: string, publicKey: ReturnType<typeof createPublicKey>) {
  const [h, b, s] = jwt.split('.');
  expect(h).toBe(HEADER);
  expect(
    verify(
      null,
      Buffer.from(`${h}.${b}`),
      publicKey,
      Buffer.from(s, 'base64url'),
    ),
  ).toBe(true);
  return Buffer.from(b, 'base64url').toString('utf8');
}

// Characters that take every branch of the writer: plain ASCII, JSON escapes, control characters, non-ASCII, a
// surrogate pair, a lone surrogate, the line separator.
const PIECES = [
  'a',
  'Z',
  '0',
  '-',
  ':',
  '~',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  '日本',
  '😀',
  '\ud800',
  '\udc00',
  '\u2028',
];

describe('NkeyJwtSigner writes exactly what JSON.stringify and ADR-14 give', () => {
  const dev = createNatsDevelopmentAccount();
  const signingKey = decodeSeed(dev.signingKey.seed, 'signingKey', ['account']);
  const publicKey = createPublicKey(signingKey.privateKey);
  const accountId = dev.account.publicKey;
  const publicUserKey = createUserKey();
  const random = seededRandom(2026);
  const pick = (n: number) => Math.floor(random() * n);
  const text = (max: number) => {
    let s = '';
    const length = 1 + pick(max);
    while (s.length < length) s += PIECES[pick(PIECES.length)];
    return s;
  };

  it('for user JWTs of every length, characters and tags, a body larger than the kept scratch among them', () => {
    const user = issueUserJwt({
      signingKey: dev.signingKey.seed,
      accountId,
      publicUserKey: createUserKey(),
    });
    expect(user.split('.')).toHaveLength(3);
    for (let round = 0; round < 1500; round++) {
      // Every 500th name is 30,000 characters: a body bound past 64 KiB, written in a buffer of its own.
      const name =
        round % 500 === 250 ? text(30_000) : text(pick(4) === 0 ? 300 : 20);
      const tags = Array.from({ length: pick(4) }, () => text(12));
      const expiresIn = pick(2) === 0 ? undefined : 1 + pick(10 ** 9);
      const issuedAt = pick(2 ** 31);
      const sub = createUserKey();
      const jwt = issueUserJwt({
        signingKey: dev.signingKey.seed,
        accountId,
        publicUserKey: sub,
        name,
        tags,
        expiresIn,
        issuedAt,
        valuesNotInTemplate: ['name', 'tags'],
      });
      const members: Record<string, unknown> = {};
      if (expiresIn !== undefined) members.exp = issuedAt + expiresIn;
      members.iat = issuedAt;
      members.jti = '';
      members.iss = signingKey.publicKey;
      members.name = name;
      members.nats = {
        issuer_account: accountId,
        ...(tags.length > 0 ? { tags } : {}),
        type: 'user',
        version: 2,
      };
      members.sub = sub;
      expect(decoded(jwt, publicKey)).toBe(expectedBody(members));
    }
  });

  it('for an audience (config-mode callout users) and a nats object given whole, as text or bytes', () => {
    const signer = new NkeyJwtSigner(signingKey);
    for (let round = 0; round < 300; round++) {
      const aud = text(16);
      const name = text(20);
      const nats = { type: 'operator', version: 2, note: text(40) };
      const natsJson = JSON.stringify(nats);
      const jwt = signer.sign({
        aud,
        iat: round,
        name,
        natsJson: round % 2 ? natsJson : Buffer.from(natsJson),
        sub: publicUserKey,
      });
      expect(decoded(jwt, publicKey)).toBe(
        expectedBody({
          aud,
          iat: round,
          jti: '',
          iss: signingKey.publicKey,
          name,
          nats,
          sub: publicUserKey,
        }),
      );
    }
  });

  it('signs a whole JSON body into the bytes of the JWT (the auth-callout response), a body past 64 KiB among them', () => {
    const signer = new NkeyJwtSigner(signingKey);
    for (let round = 0; round < 200; round++) {
      const json = JSON.stringify({
        jti: `J${round}`,
        note: round % 50 === 25 ? text(40_000) : text(300),
      });
      const bytes = signer.signJsonToBytes(json);
      const jwt = bytes.toString('latin1');
      expect(Buffer.from(jwt, 'latin1').equals(bytes)).toBe(true);
      expect(decoded(jwt, publicKey)).toBe(json);
    }
  });

  it("uses Node's unchecked Buffer codecs where they exist, and the public methods give the same bytes", () => {
    const node = rawCodecs();
    const plain = rawCodecs({});
    expect(node).not.toEqual(plain);
    for (let round = 0; round < 500; round++) {
      const s = text(200);
      const a = Buffer.alloc(4096);
      const b = Buffer.alloc(4096);
      const at = pick(100);
      expect(node.utf8Write(a, s, at)).toBe(plain.utf8Write(b, s, at));
      expect(a.equals(b)).toBe(true);
      const latin1 = Buffer.from(s, 'utf8').toString('base64url');
      expect(node.latin1Write(a, latin1, at)).toBe(
        plain.latin1Write(b, latin1, at),
      );
      expect(a.equals(b)).toBe(true);
      const end = pick(4096);
      expect(node.base64url(a, end)).toBe(plain.base64url(b, end));
    }
  });
});

function createUserKey(): string {
  return generateNkey('user').publicKey;
}
