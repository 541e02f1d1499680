import { sign } from 'node:crypto';
import {
  createAccount,
  createCurve,
  createServer,
  createUser,
} from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import { redactNatsAuthRequest } from '../../../lib/index.js';
import {
  isRequestProblem,
  parseAuthRequest,
} from '../../../lib/nats/callout/callout-request.js';
import { XkeyBox } from '../../../lib/nats/callout/xkey.js';
import { seedPrivateKey } from '../../support/nats-raw-connect.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const b64 = (v: unknown) =>
  Buffer.from(JSON.stringify(v)).toString('base64url');

describe('xkey box (node:crypto X25519 + tweetnacl secretbox) against @nats-io/nkeys curve keys', () => {
  it('opens what nkeys seals and seals what nkeys opens, both ways, with the shared key cached', () => {
    const mine = createCurve();
    const peer = createCurve();
    const box = new XkeyBox(text(mine.getSeed()), 'xkey');
    expect(box.publicKey).toBe(mine.getPublicKey());
    for (const message of ['', 'hello', 'x'.repeat(70_000)]) {
      const sealed = peer.seal(
        new TextEncoder().encode(message),
        mine.getPublicKey(),
      );
      expect(text(box.open(sealed, peer.getPublicKey())!)).toBe(message);
      const back = box.seal(Buffer.from(message), peer.getPublicKey());
      expect(text(peer.open(back, mine.getPublicKey())!)).toBe(message);
    }
  });

  it('refuses what is not sealed for it, a tampered box, a peer key that is not an xkey', () => {
    const mine = createCurve();
    const peer = createCurve();
    const box = new XkeyBox(text(mine.getSeed()), 'xkey');
    const sealed = peer.seal(
      new TextEncoder().encode('m'),
      createCurve().getPublicKey(),
    );
    expect(box.open(sealed, peer.getPublicKey())).toBeUndefined();
    const good = peer.seal(new TextEncoder().encode('m'), mine.getPublicKey());
    good[good.length - 1] ^= 1;
    expect(box.open(good, peer.getPublicKey())).toBeUndefined();
    expect(box.open(good, createAccount().getPublicKey())).toBeUndefined();
    expect(() => box.seal(Buffer.from('m'), 'XNOTAKEY')).toThrow();
  });

  it('a seed of another kind is refused, naming the option, never quoting the seed', () => {
    const seed = text(createAccount().getSeed());
    expect(() => new XkeyBox(seed, 'nats.callout.xkey')).toThrow(
      /nats\.callout\.xkey: is not a curve seed/,
    );
    const error = (() => {
      try {
        return new XkeyBox(seed, 'x');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain(seed);
  });
});

describe('parseAuthRequest: never throws, whatever the bytes', () => {
  const server = createServer();
  const issuer = createAccount().getPublicKey();
  const key = seedPrivateKey(text(server.getSeed()));
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    aud: 'nats-authorization-request',
    exp: iat + 60,
    iat,
    iss: server.getPublicKey(),
    jti: 'J1',
    sub: issuer,
    nats: {
      server_id: {
        name: 's',
        host: 'h',
        id: server.getPublicKey(),
        version: '2.10.27',
      },
      user_nkey: createUser().getPublicKey(),
      client_info: { host: '127.0.0.1', id: 1, user: 'RAW-TOKEN' },
      connect_opts: {
        auth_token: 'TOKEN',
        pass: 'PASS',
        jwt: 'JWT',
        sig: 'SIG',
        user: 'u',
      },
      type: 'authorization_request',
      version: 2,
    },
  };
  const input = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64(claims)}`;
  const jwt = `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
  const expect0 = { subject: issuer, maxBytes: 65536, now: iat };

  it('a good request is camel-cased; redaction hides every secret', () => {
    const r = parseAuthRequest(Buffer.from(jwt), undefined, expect0);
    expect(isRequestProblem(r)).toBe(false);
    if (isRequestProblem(r)) return;
    expect(r.connectOptions).toMatchObject({
      authToken: 'TOKEN',
      pass: 'PASS',
      user: 'u',
    });
    const shown = JSON.stringify(redactNatsAuthRequest(r));
    for (const secret of ['RAW-TOKEN', '"TOKEN"', 'PASS', '"JWT"', '"SIG"'])
      expect(shown).not.toContain(secret);
    expect(shown).toContain('"user":"u"');
  });

  it('20,000 random mutations: every one a result or a problem, no exception, no mutated request accepted', () => {
    let seed = 7;
    const rnd = () =>
      (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = 'AZaz09-_.{}"\\xkv1=+/ \u0000\u00ff';
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const chars = jwt.split('');
      const n = 1 + Math.floor(rnd() * 6);
      for (let j = 0; j < n; j++) {
        const at = Math.floor(rnd() * chars.length);
        const op = rnd();
        if (op < 0.6) chars[at] = alphabet[Math.floor(rnd() * alphabet.length)];
        else if (op < 0.8) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[Math.floor(rnd() * alphabet.length)]);
      }
      const mutated = chars.join('');
      const r = parseAuthRequest(
        Buffer.from(mutated, 'latin1'),
        undefined,
        expect0,
      );
      if (!isRequestProblem(r) && mutated !== jwt) accepted++;
    }
    // Only mutations in the last base64url character's unused bits can keep the signature (same bytes).
    expect(accepted).toBeLessThan(50);
  });
});
