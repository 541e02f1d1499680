import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  randomFillSync,
} from 'node:crypto';
import { fromCurveSeed, fromPublic } from '@nats-io/nkeys';
import { LRUCache } from 'lru-cache';
import nacl from 'tweetnacl';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import { base32Decode } from '../nkey.js';

/** The 4-byte version tag of a sealed xkey payload (`xkv1`), then a 24-byte nonce, then the NaCl box. */
const XKV1 = Buffer.from('xkv1', 'latin1');
const NONCE_BYTES = 24;
const OVERHEAD = XKV1.length + NONCE_BYTES + 16;
// PKCS#8 DER prefix of an X25519 private key; the 32-byte raw key follows it.
const PKCS8_X25519_PREFIX = Buffer.from(
  '302e020100300506032b656e04220420',
  'hex',
);
/** Shared keys kept (one per peer xkey: a server's xkey lives as long as the server process). */
const SHARED_KEYS = 256;

// tweetnacl's HSalsa20 core (the step of `box.before` after X25519); not in its type declarations.
const hsalsa20 = (
  nacl as unknown as {
    lowlevel: {
      crypto_core_hsalsa20(
        out: Uint8Array,
        input: Uint8Array,
        key: Uint8Array,
        constant: Uint8Array,
      ): void;
    };
  }
).lowlevel.crypto_core_hsalsa20;
const SIGMA = new Uint8Array(Buffer.from('expand 32-byte k', 'latin1'));
const ZERO16 = new Uint8Array(16);

// Nonces come from a pool filled 4 KiB at a time (one random draw per 170 nonces instead of one each).
const NONCE_POOL = Buffer.allocUnsafe(NONCE_BYTES * 170);
let nonceAt = NONCE_POOL.length;

/** A fresh nonce: a view of the pool, valid until the next call (it is copied into the sealed message at once). */
function freshNonce(): Buffer {
  if (nonceAt + NONCE_BYTES > NONCE_POOL.length) {
    randomFillSync(NONCE_POOL);
    nonceAt = 0;
  }
  const nonce = NONCE_POOL.subarray(nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return nonce;
}

/** Whether a payload is sealed with an xkey (starts with `xkv1`). */
export function isSealed(payload: Uint8Array): boolean {
  return (
    payload.length >= 4 &&
    payload[0] === XKV1[0] &&
    payload[1] === XKV1[1] &&
    payload[2] === XKV1[2] &&
    payload[3] === XKV1[3]
  );
}

/** Validates a public curve key (`X…`); `undefined` when it is not one. */
export function curvePublicKeyRaw(text: unknown): Buffer | undefined {
  if (typeof text !== 'string' || text.length !== 56 || text[0] !== 'X') {
    return undefined;
  }
  try {
    fromPublic(text);
  } catch {
    return undefined;
  }
  return base32Decode(text)?.subarray(1, 33);
}

/**
 * An xkey (curve25519 nkey, seed `SX…`) that seals and opens NATS auth-callout payloads (internal): the
 * `xkv1 | nonce | NaCl box` format of nats-server and `@nats-io/nkeys`. X25519 runs on `node:crypto`; the
 * HSalsa20-derived box key is kept per peer xkey (bounded), so each message costs one XSalsa20-Poly1305 pass
 * (`tweetnacl`'s `secretbox`) instead of a scalar multiplication.
 */
export class XkeyBox {
  /** Public xkey (`X…`): the one configured on the server (`auth_callout.xkey` or the account's `authorization.xkey`). */
  readonly publicKey: string;
  private readonly privateKey: KeyObject;
  private lastPeer: string | undefined;
  private lastKey: Uint8Array | undefined;
  private readonly shared = new LRUCache<string, Uint8Array>({
    max: SHARED_KEYS,
  });

  /** @throws {JwtIssuerError} `NKEY_INVALID` / `NKEY_WRONG_TYPE` naming `what`, never quoting the seed. */
  constructor(seed: unknown, what: string) {
    if (typeof seed !== 'string' || seed === '') {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        `${what}: is required, as a curve seed (SX…)`,
      );
    }
    if (!seed.startsWith('SX')) {
      throw new JwtIssuerError(
        seed.startsWith('S') || seed.startsWith('X')
          ? JwtIssuerErrorCode.NKEY_WRONG_TYPE
          : JwtIssuerErrorCode.NKEY_INVALID,
        `${what}: is not a curve seed; an xkey seed (SX…, made by \`nsc generate nkey --curve\`) is needed${seed.startsWith('X') ? ' (this is a public xkey: the server gets the public key, the responder the seed)' : ''}`,
      );
    }
    let pair;
    try {
      pair = fromCurveSeed(new TextEncoder().encode(seed));
    } catch (cause) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.NKEY_INVALID,
        `${what}: is not a valid curve seed (${(cause as Error).message})`,
        { cause },
      );
    }
    this.publicKey = pair.getPublicKey();
    pair.clear();
    const raw = base32Decode(seed)!.subarray(2, 34);
    const der = Buffer.concat([PKCS8_X25519_PREFIX, raw]);
    this.privateKey = createPrivateKey({
      key: der,
      format: 'der',
      type: 'pkcs8',
    });
    raw.fill(0);
    der.fill(0);
  }

  /** Whether `peer`'s box key is already known (then `peer` is a valid public xkey, checked when it was computed). */
  knows(peer: string): boolean {
    return peer === this.lastPeer || this.shared.has(peer);
  }

  /** The box key shared with `peer` (a validated `X…`), computed once. */
  private key(peer: string): Uint8Array {
    // A server talks to its responder with one xkey: the last one is looked up without the LRU.
    if (peer === this.lastPeer) return this.lastKey!;
    let key = this.shared.get(peer);
    if (key) return this.remember(peer, key);
    const raw = curvePublicKeyRaw(peer);
    if (!raw) throw new Error('not a public xkey');
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
    // OpenSSL refuses small-order points (an all-zero shared secret), so a hostile key fails here.
    const secret = diffieHellman({ privateKey: this.privateKey, publicKey });
    key = new Uint8Array(32);
    hsalsa20(key, ZERO16, secret, SIGMA);
    secret.fill(0);
    this.shared.set(peer, key);
    return this.remember(peer, key);
  }

  private remember(peer: string, key: Uint8Array): Uint8Array {
    this.lastPeer = peer;
    this.lastKey = key;
    return key;
  }

  /** Opens a sealed payload from `peer`; `undefined` when it is not sealed for this key by that peer. */
  open(payload: Uint8Array, peer: string): Uint8Array | undefined {
    if (payload.length < OVERHEAD || !isSealed(payload)) return undefined;
    let key: Uint8Array;
    try {
      key = this.key(peer);
    } catch {
      return undefined;
    }
    const nonce = payload.subarray(4, 4 + NONCE_BYTES);
    return (
      nacl.secretbox.open(payload.subarray(4 + NONCE_BYTES), nonce, key) ??
      undefined
    );
  }

  /** Seals `message` for `peer` with a fresh random nonce. @throws {Error} when `peer` is no usable xkey. */
  seal(message: Uint8Array, peer: string): Buffer {
    const key = this.key(peer);
    const nonce = freshNonce();
    const box = nacl.secretbox(message, nonce, key);
    return Buffer.concat([XKV1, nonce, box]);
  }
}
