import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { fromPublic, fromSeed } from '@nats-io/nkeys';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';

/** The kinds of nkey this module deals with, by their public-key prefix letter. */
export type NkeyKind = 'operator' | 'account' | 'user';

const PREFIX_BYTE: Record<NkeyKind, number> = {
  operator: 14 << 3, // 'O'
  account: 0, // 'A'
  user: 20 << 3, // 'U'
};
const SEED_BYTE = 18 << 3; // 'S'
const LETTER: Record<NkeyKind, string> = {
  operator: 'O',
  account: 'A',
  user: 'U',
};
const KIND_OF_LETTER: Record<string, NkeyKind | undefined> = {
  O: 'operator',
  A: 'account',
  U: 'user',
};
const OTHER_LETTERS: Record<string, string> = {
  N: 'server',
  C: 'cluster',
  X: 'curve',
};

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte raw seed follows it.
const PKCS8_ED25519_PREFIX = Buffer.from(
  '302e020100300506032b657004220420',
  'hex',
);

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE32.length; i++) BASE32_INDEX[BASE32.charCodeAt(i)] = i;

const BASE32_BYTES = Buffer.from(BASE32, 'latin1');

/** The length of the unpadded base32 text of `byteLength` bytes. */
export function base32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

/**
 * Writes the unpadded base32 of `bytes` into `out` at `offset` (ASCII) and returns the offset after it. Whole
 * 5-byte groups are written 8 characters at a time (this is on every JWT's path: the jti).
 */
export function base32Into(
  bytes: Uint8Array,
  out: Uint8Array,
  offset = 0,
): number {
  const n = bytes.length;
  const a = BASE32_BYTES;
  let o = offset;
  let i = 0;
  for (; i + 5 <= n; i += 5) {
    const b0 = bytes[i];
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    const b3 = bytes[i + 3];
    const b4 = bytes[i + 4];
    out[o++] = a[b0 >> 3];
    out[o++] = a[((b0 & 7) << 2) | (b1 >> 6)];
    out[o++] = a[(b1 >> 1) & 31];
    out[o++] = a[((b1 & 1) << 4) | (b2 >> 4)];
    out[o++] = a[((b2 & 15) << 1) | (b3 >> 7)];
    out[o++] = a[(b3 >> 2) & 31];
    out[o++] = a[((b3 & 3) << 3) | (b4 >> 5)];
    out[o++] = a[b4 & 31];
  }
  let buffer = 0;
  let bits = 0;
  for (; i < n; i++) {
    buffer = (buffer << 8) | bytes[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[o++] = a[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out[o++] = a[(buffer << (5 - bits)) & 31];
  return o;
}

/** RFC 4648 base32 (alphabet `A-Z2-7`) without padding, as nkeys and ADR-14's jti use it. */
export function base32Encode(bytes: Uint8Array): string {
  const out = Buffer.allocUnsafe(base32Length(bytes.length));
  return out.toString('latin1', 0, base32Into(bytes, out));
}

/**
 * Decodes unpadded base32 into `out` (which must hold `floor(5 * length / 8)` bytes); `false` when a character is
 * outside the alphabet.
 */
function base32DecodeInto(text: string, out: Uint8Array): boolean {
  let buffer = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? BASE32_INDEX[code] : -1;
    if (v < 0) return false;
    buffer = ((buffer << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (buffer >>> bits) & 0xff;
    }
  }
  return true;
}

/** Decodes unpadded base32; `undefined` when a character is outside the alphabet. */
export function base32Decode(text: string): Buffer | undefined {
  const out = Buffer.alloc(Math.floor((text.length * 5) / 8));
  return base32DecodeInto(text, out) ? out : undefined;
}

const CRC16_TABLE = new Uint16Array(256);
for (let n = 0; n < 256; n++) {
  let crc = n << 8;
  for (let i = 0; i < 8; i++) {
    crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  CRC16_TABLE[n] = crc;
}

/** CRC-16/XMODEM, the checksum nkeys append (little-endian) (internal). */
export function crc16(bytes: Uint8Array, end = bytes.length): number {
  let crc = 0;
  for (let i = 0; i < end; i++) crc = crcStep(crc, bytes[i]);
  return crc;
}

/** The base32 value of the character at `i` of `text`, or -1 (a character outside the alphabet). */
function base32At(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? BASE32_INDEX[code] : -1;
}

/** One byte into a CRC-16/XMODEM (table-driven). */
function crcStep(crc: number, byte: number): number {
  return ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >>> 8) ^ byte) & 0xff];
}

/**
 * The kind of a well-formed public nkey (56 base32 characters, known prefix, valid checksum), or `undefined`. The
 * hot path of every issued JWT: the 56 characters are decoded 8 at a time (5 bytes) and the CRC-16 is folded in as
 * the bytes come (measured: 110 ns against 160 ns decoding into a buffer first); it agrees with `@nats-io/nkeys`'
 * `fromPublic` (tested), which is used for the error details.
 */
export function publicNkeyKind(text: string): NkeyKind | undefined {
  if (text.length !== 56) return undefined;
  const kind = KIND_OF_LETTER[text[0]];
  if (kind === undefined) return undefined;
  let crc = 0;
  let checksum = 0;
  for (let i = 0; i < 56; i += 8) {
    const c0 = base32At(text, i);
    const c1 = base32At(text, i + 1);
    const c2 = base32At(text, i + 2);
    const c3 = base32At(text, i + 3);
    const c4 = base32At(text, i + 4);
    const c5 = base32At(text, i + 5);
    const c6 = base32At(text, i + 6);
    const c7 = base32At(text, i + 7);
    if ((c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7) < 0) return undefined;
    const b0 = (c0 << 3) | (c1 >> 2);
    const b1 = ((c1 & 3) << 6) | (c2 << 1) | (c3 >> 4);
    const b2 = ((c3 & 15) << 4) | (c4 >> 1);
    const b3 = ((c4 & 1) << 7) | (c5 << 2) | (c6 >> 3);
    const b4 = ((c6 & 7) << 5) | c7;
    if (i === 0 && b0 !== PREFIX_BYTE[kind]) return undefined;
    crc = crcStep(crcStep(crcStep(crc, b0), b1), b2);
    // The last block's bytes 33 and 34 are the CRC-16 itself (little-endian).
    if (i < 48) crc = crcStep(crcStep(crc, b3), b4);
    else checksum = b3 | (b4 << 8);
  }
  return crc === checksum ? kind : undefined;
}

function withChecksum(payload: Buffer): string {
  const out = Buffer.alloc(payload.length + 2);
  payload.copy(out);
  out.writeUInt16LE(crc16(payload), payload.length);
  return base32Encode(out);
}

/** Encodes a raw 32-byte Ed25519 public key as an nkey public key (`A…`, `U…`, `O…`). */
export function encodePublicNkey(kind: NkeyKind, raw: Uint8Array): string {
  return withChecksum(Buffer.concat([Buffer.from([PREFIX_BYTE[kind]]), raw]));
}

/** Encodes a raw 32-byte Ed25519 seed as an nkey seed (`SA…`, `SU…`, `SO…`). */
export function encodeSeedNkey(kind: NkeyKind, raw: Uint8Array): string {
  const role = PREFIX_BYTE[kind];
  const prefix = Buffer.from([SEED_BYTE | (role >> 5), (role & 31) << 3]);
  return withChecksum(Buffer.concat([prefix, raw]));
}

/** The raw 32-byte public key of an Ed25519 key object. */
function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  // The SPKI DER of an Ed25519 key ends with the 32 raw bytes.
  return pub.export({ format: 'der', type: 'spki' }).subarray(-32);
}

/** An nkey seed decoded once: the Ed25519 key held by `node:crypto`, its public nkey and its kind. */
export interface DecodedSeed {
  readonly kind: NkeyKind;
  /** The public nkey (`A…`, `U…`, `O…`). */
  readonly publicKey: string;
  /** Ed25519 private key for `node:crypto` (never exported or logged). */
  readonly privateKey: KeyObject;
}

/** A fresh nkey pair. */
export interface GeneratedNkey extends DecodedSeed {
  /** The seed (`S…`): a secret. */
  readonly seed: string;
}

/** Creates a fresh nkey of `kind` with `node:crypto`'s random Ed25519 key generation. */
export function generateNkey(kind: NkeyKind): GeneratedNkey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const raw = der.subarray(-32);
  const seed = encodeSeedNkey(kind, raw);
  raw.fill(0);
  der.fill(0);
  return {
    kind,
    seed,
    privateKey,
    publicKey: encodePublicNkey(kind, rawPublicKey(privateKey)),
  };
}

/** `word` with its indefinite article. */
function article(word: string): string {
  return `${/^(account|operator|unknown)/.test(word) ? 'an' : 'a'} ${word}`;
}

function kindList(kinds: readonly NkeyKind[], seed: boolean): string {
  return kinds
    .map((k) =>
      article(`${k} ${seed ? `seed (S${LETTER[k]}…)` : `key (${LETTER[k]}…)`}`),
    )
    .join(' or ');
}

function describeLetter(letter: string): string {
  return KIND_OF_LETTER[letter] ?? OTHER_LETTERS[letter] ?? 'unknown';
}

function fail(code: JwtIssuerErrorCode, detail: string): never {
  throw new JwtIssuerError(code, detail);
}

function isValidPublic(text: string): boolean {
  try {
    fromPublic(text);
    return true;
  } catch {
    return false;
  }
}

function isValidSeed(text: string): boolean {
  try {
    fromSeed(new TextEncoder().encode(text));
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes an nkey seed once into a `node:crypto` Ed25519 key. The checksum and prefix are validated by
 * `@nats-io/nkeys`; errors name `what` and never contain the seed.
 *
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` (not a non-empty string), `NKEY_INVALID` (does not decode),
 *   `NKEY_WRONG_TYPE` (a public key, or a seed of another kind).
 */
export function decodeSeed(
  value: unknown,
  what: string,
  kinds: readonly NkeyKind[],
): DecodedSeed {
  const wanted = kindList(kinds, true);
  if (typeof value !== 'string' || value === '') {
    fail(
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      `${what}: is required, as ${wanted}`,
    );
  }
  if (!value.startsWith('S')) {
    if (isValidPublic(value)) {
      fail(
        JwtIssuerErrorCode.NKEY_WRONG_TYPE,
        `${what}: is a public ${describeLetter(value[0])} key, not a seed; ${wanted} is needed`,
      );
    }
    fail(
      JwtIssuerErrorCode.NKEY_INVALID,
      `${what}: is not an nkey seed; ${wanted} is needed`,
    );
  }
  try {
    fromSeed(new TextEncoder().encode(value));
  } catch (cause) {
    // nkeys' messages are fixed texts ("nkeys: invalid checksum"); they never quote the input.
    throw new JwtIssuerError(
      JwtIssuerErrorCode.NKEY_INVALID,
      `${what}: is not a valid nkey seed (${(cause as Error).message})`,
      { cause },
    );
  }
  if (value.length !== 58) {
    fail(
      JwtIssuerErrorCode.NKEY_INVALID,
      `${what}: is not a valid nkey seed (must be 58 base32 characters)`,
    );
  }
  const kind = KIND_OF_LETTER[value[1]];
  if (!kind || !kinds.includes(kind)) {
    fail(
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      `${what}: is ${article(describeLetter(value[1]))} seed; ${wanted} is needed`,
    );
  }
  const raw = base32Decode(value)!.subarray(2, 34);
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, raw]);
  const privateKey = createPrivateKey({
    key: der,
    format: 'der',
    type: 'pkcs8',
  });
  raw.fill(0);
  der.fill(0);
  return {
    kind,
    privateKey,
    publicKey: encodePublicNkey(kind, rawPublicKey(privateKey)),
  };
}

/**
 * Validates a public nkey of one of `kinds`. Errors name `what` and never quote the value (it may be a seed given by
 * mistake).
 *
 * @throws {JwtIssuerError} `INVALID_ARGUMENT`, `NKEY_INVALID`, `NKEY_WRONG_TYPE`.
 */
export function checkPublicNkey(
  value: unknown,
  what: string,
  kinds: readonly NkeyKind[],
): string {
  if (typeof value === 'string') {
    const fast = publicNkeyKind(value);
    if (fast && kinds.includes(fast)) return value;
  }
  const wanted = kindList(kinds, false);
  if (typeof value !== 'string' || value === '') {
    fail(
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      `${what}: is required, as ${wanted}`,
    );
  }
  if (value.startsWith('S') && isValidSeed(value)) {
    fail(
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      `${what}: is a seed (a secret); ${wanted} is needed`,
    );
  }
  try {
    fromPublic(value);
  } catch (cause) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.NKEY_INVALID,
      `${what}: is not a valid public nkey (${(cause as Error).message})`,
      { cause },
    );
  }
  const kind = KIND_OF_LETTER[value[0]];
  if (!kind || !kinds.includes(kind)) {
    fail(
      JwtIssuerErrorCode.NKEY_WRONG_TYPE,
      `${what}: is ${article(describeLetter(value[0]))} key; ${wanted} is needed`,
    );
  }
  if (!publicNkeyKind(value)) {
    // nkeys.js ignores trailing characters that Go's decoder (the server's) refuses.
    fail(
      JwtIssuerErrorCode.NKEY_INVALID,
      `${what}: is not a valid public nkey (must be 56 base32 characters)`,
    );
  }
  return value;
}

/** Imports a public nkey as a `node:crypto` Ed25519 public key (the nkey must already be validated). */
export function publicKeyObject(nkey: string): KeyObject {
  const raw = base32Decode(nkey)!.subarray(1, 33);
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}
