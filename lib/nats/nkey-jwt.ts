import { hash } from 'node:crypto';
import { JwsSigner } from '../common/jws-signer.js';
import { base32Encode, type DecodedSeed } from './nkey.js';

/** The static header of NATS v2 JWTs (ADR-14). */
const NKEY_JWT_HEADER = { typ: 'JWT', alg: 'ed25519-nkey' } as const;

/** Claims of a NATS JWT, with `nats` already serialized (its key order is the caller's). */
export interface NkeyJwtClaims {
  exp?: number;
  iat: number;
  name: string;
  /** The `nats` object as JSON text. */
  natsJson: string;
  sub: string;
}

/**
 * Signs NATS JWTs with an nkey held by `node:crypto` (internal). The body's keys are written in the order
 * `exp, iat, jti, iss, name, nats, sub`, and `jti` is ADR-14's: base32 (no padding) of the SHA-256 of the body
 * written with `"jti":""`.
 */
export class NkeyJwtSigner {
  /** Public nkey of the signer (`iss`). */
  readonly publicKey: string;
  private readonly signer: JwsSigner;
  private readonly issJson: string;

  constructor(key: DecodedSeed) {
    this.publicKey = key.publicKey;
    this.issJson = JSON.stringify(key.publicKey);
    this.signer = new JwsSigner({
      algorithm: 'EdDSA',
      key: key.privateKey,
      header: NKEY_JWT_HEADER,
    });
  }

  /** The exact body bytes (JSON text) of a JWT, with its jti. */
  body(claims: NkeyJwtClaims): string {
    const head = `{${claims.exp === undefined ? '' : `"exp":${claims.exp},`}"iat":${claims.iat},"jti":"`;
    const tail = `","iss":${this.issJson},"name":${JSON.stringify(claims.name)},"nats":${claims.natsJson},"sub":${JSON.stringify(claims.sub)}}`;
    const jti = base32Encode(hash('sha256', head + tail, 'buffer'));
    return head + jti + tail;
  }

  /** Signs the claims into a compact JWT. */
  sign(claims: NkeyJwtClaims): string {
    return this.signer.signJson(this.body(claims));
  }
}
