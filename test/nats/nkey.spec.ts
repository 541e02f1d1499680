import {
  createAccount,
  createOperator,
  createServer,
  createUser,
  fromPublic,
  fromSeed,
} from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import {
  base32Decode,
  base32Encode,
  decodeSeed,
  generateNkey,
  type NkeyKind,
  publicNkeyKind,
} from '../../lib/nats/nkey.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('nkey codec (node:crypto side) agrees with @nats-io/nkeys', () => {
  it('base32 round-trips every length and matches RFC 4648 vectors', () => {
    for (const [text, b32] of [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ]) {
      expect(base32Encode(Buffer.from(text))).toBe(b32);
    }
    for (let n = 0; n < 40; n++) {
      const bytes = Buffer.from(
        Array.from({ length: n }, (_, i) => (i * 37 + n) & 255),
      );
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    }
    expect(base32Decode('AB1')).toBeUndefined();
  });

  it.each([
    ['operator', createOperator],
    ['account', createAccount],
    ['user', createUser],
  ] as const)(
    'decodes %s seeds made by nkeys to the same public key and signature',
    (kind, create) => {
      const kp = create();
      const decoded = decodeSeed(dec(kp.getSeed()), 'seed', [kind as NkeyKind]);
      expect(decoded.publicKey).toBe(kp.getPublicKey());
    },
  );

  it.each(['operator', 'account', 'user'] as const)(
    'generates %s keys that nkeys reads back',
    (kind) => {
      const k = generateNkey(kind);
      expect(k.seed[0]).toBe('S');
      const kp = fromSeed(enc(k.seed));
      expect(kp.getPublicKey()).toBe(k.publicKey);
      expect(fromPublic(k.publicKey).getPublicKey()).toBe(k.publicKey);
    },
  );

  it('the fast public-key check agrees with nkeys fromPublic on valid and corrupted keys', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    let checked = 0;
    for (let i = 0; i < 300; i++) {
      const makers = [createOperator, createAccount, createUser, createServer];
      const key = makers[i % 4]().getPublicKey();
      const variants = [key];
      const at = (i * 7) % key.length;
      variants.push(
        key.slice(0, at) +
          alphabet[(alphabet.indexOf(key[at]) + 1 + (i % 31)) % 32] +
          key.slice(at + 1),
      );
      variants.push(key.slice(0, -1), `${key}A`, key.toLowerCase());
      for (const v of variants) {
        let nkeysOk = true;
        try {
          fromPublic(v);
        } catch {
          nkeysOk = false;
        }
        const ours = publicNkeyKind(v);
        // Stricter than nkeys.js on length only: 57 characters decode to the same bytes there, but not in Go (the server).
        expect([v, ours !== undefined]).toEqual([
          v,
          nkeysOk && 'OAU'.includes(v[0]) && v.length === 56,
        ]);
        if (ours) expect(ours[0].toUpperCase()).toBe(v[0]);
        checked++;
      }
    }
    expect(checked).toBe(1500);
  });
});
