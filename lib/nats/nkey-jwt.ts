import { hash, type KeyObject, sign } from 'node:crypto';
import { assertKeyFitsAlgorithm } from '../common/keys.js';
import { base32Into, base32Length, type DecodedSeed } from './nkey.js';

/** The static header of NATS v2 JWTs (ADR-14), base64url-encoded once, with the `.` that follows it. */
const HEADER_DOT = `${Buffer.from('{"typ":"JWT","alg":"ed25519-nkey"}').toString('base64url')}.`;
/** ADR-14's jti: base32 (no padding) of a SHA-256. */
const JTI_LENGTH = base32Length(32);
/** Scratch buffers above this size are not kept for later calls. */
const KEEP_SCRATCH = 64 * 1024;

/** Claims of a NATS JWT, with `nats` already serialized (its key order is the caller's). */
export interface NkeyJwtClaims {
  /** Audience (an auth-callout user's target account in config mode); written first when present. */
  aud?: string;
  exp?: number;
  iat: number;
  name: string;
  /** The `nats` object as JSON text. */
  natsJson: string;
  /** A validated public nkey (base32 letters and digits only: written without escaping). */
  sub: string;
}

// Signing is synchronous, so one call at a time uses these: the body, then the signing input.
let bodyScratch: Buffer = Buffer.allocUnsafe(4096);
let inputScratch: Buffer = Buffer.allocUnsafe(8192);
inputScratch.write(HEADER_DOT, 0, 'latin1');

/** JSON text of a string, with every non-ASCII character escaped (the head of the body must be ASCII). */
function asciiJson(text: string): string {
  return JSON.stringify(text).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function scratch(
  kept: Buffer,
  size: number,
  keep: (b: Buffer) => void,
): Buffer {
  if (size <= kept.length) return kept;
  const grown = Buffer.allocUnsafe(size);
  if (size <= KEEP_SCRATCH) keep(grown);
  return grown;
}

/**
 * Signs NATS JWTs with an nkey held by `node:crypto` (internal). The body's keys are written in the order
 * `aud?, exp, iat, jti, iss, name, nats, sub`, and `jti` is ADR-14's: base32 (no padding) of the SHA-256 of the body
 * written with `"jti":""`.
 *
 * Built for rate: the body is written once into a reused buffer, hashed there for the jti, shifted to make room for
 * the jti written in place, base64url-encoded once behind the pre-encoded header, and those bytes are signed: beside
 * the signature, a token costs one SHA-256 and one base64url pass.
 */
export class NkeyJwtSigner {
  /** Public nkey of the signer (`iss`). */
  readonly publicKey: string;
  private readonly key: KeyObject;
  // Everything between the jti and the name, written once.
  private readonly afterJti: string;

  constructor(key: DecodedSeed) {
    assertKeyFitsAlgorithm(key.privateKey, 'EdDSA', 'private');
    this.publicKey = key.publicKey;
    this.key = key.privateKey;
    this.afterJti = `","iss":"${key.publicKey}","name":`;
  }

  /** Signs the claims into a compact JWT. */
  sign(claims: NkeyJwtClaims): string {
    const aud =
      claims.aud === undefined ? '' : `"aud":${asciiJson(claims.aud)},`;
    const head = `{${aud}${claims.exp === undefined ? '' : `"exp":${claims.exp},`}"iat":${claims.iat},"jti":"`;
    const tail = `${this.afterJti}${JSON.stringify(claims.name)},"nats":${claims.natsJson},"sub":"${claims.sub}"}`;
    // ASCII head; the tail may hold any character (3 UTF-8 bytes per UTF-16 unit at most).
    const body = scratch(
      bodyScratch,
      head.length + JTI_LENGTH + 3 * tail.length,
      (b) => (bodyScratch = b),
    );
    // One write of the body without its jti; the head is ASCII, so the jti goes at byte head.length.
    const h = head.length;
    const t = body.write(head + tail, 0, 'utf8') - h;
    const digest = hash('sha256', body.subarray(0, h + t), 'buffer');
    body.copyWithin(h + JTI_LENGTH, h, h + t);
    base32Into(digest, body, h);
    const payload = body.toString('base64url', 0, h + JTI_LENGTH + t);
    const inputLength = HEADER_DOT.length + payload.length;
    let input = inputScratch;
    if (inputLength > input.length) {
      input = scratch(input, inputLength, (b) => (inputScratch = b));
      input.write(HEADER_DOT, 0, 'latin1');
    }
    input.write(payload, HEADER_DOT.length, 'latin1');
    const signature = sign(null, input.subarray(0, inputLength), this.key);
    return `${HEADER_DOT}${payload}.${signature.toString('base64url')}`;
  }
}
