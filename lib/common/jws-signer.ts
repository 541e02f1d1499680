import { createHmac, type KeyObject, sign } from 'node:crypto';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import { assertKeyFitsAlgorithm } from './keys.js';

/** JWS algorithms the module signs and verifies with. */
export type JwsAlgorithm = 'HS256' | 'RS256' | 'ES256' | 'EdDSA';

/** Options of {@link JwsSigner}. */
export interface JwsSignerOptions {
  algorithm: JwsAlgorithm;
  /** A private key (RS256, ES256, EdDSA) or a secret key (HS256), imported once. */
  key: KeyObject;
  /**
   * The protected header, serialized as given (key order kept). Defaults to `{ alg, typ: 'JWT' }`, plus `kid`
   * when given.
   */
  header?: Readonly<Record<string, unknown>>;
  /** Key id added to the default header. */
  kid?: string;
}

/**
 * Signs compact JWS tokens with a key imported once. The header segment is encoded once; each token costs one
 * `JSON.stringify`, one base64url encoding and one signature: the speed of raw `node:crypto`.
 */
export class JwsSigner {
  readonly algorithm: JwsAlgorithm;
  readonly kid: string | undefined;
  private readonly key: KeyObject;
  private readonly headerSegment: string;

  constructor(options: JwsSignerOptions) {
    assertKeyFitsAlgorithm(options.key, options.algorithm, 'private');
    this.algorithm = options.algorithm;
    this.key = options.key;
    this.kid = options.kid;
    const header = options.header ?? {
      alg: options.algorithm,
      typ: 'JWT',
      ...(options.kid === undefined ? {} : { kid: options.kid }),
    };
    this.headerSegment = Buffer.from(JSON.stringify(header)).toString(
      'base64url',
    );
  }

  /** Signs a claims object. */
  sign(payload: object): string {
    return this.signJson(JSON.stringify(payload));
  }

  /** Signs an already-serialized claims JSON text (used where the exact bytes matter, as in NATS' jti). */
  signJson(payloadJson: string): string {
    const input = `${this.headerSegment}.${Buffer.from(payloadJson).toString('base64url')}`;
    return `${input}.${this.signature(input)}`;
  }

  private signature(input: string): string {
    switch (this.algorithm) {
      case 'HS256':
        return createHmac('sha256', this.key).update(input).digest('base64url');
      case 'RS256':
        return sign('sha256', Buffer.from(input), this.key).toString(
          'base64url',
        );
      case 'ES256':
        return sign('sha256', Buffer.from(input), {
          key: this.key,
          dsaEncoding: 'ieee-p1363',
        }).toString('base64url');
      case 'EdDSA':
        return sign(null, Buffer.from(input), this.key).toString('base64url');
      default:
        throw new JwtIssuerError(
          JwtIssuerErrorCode.INVALID_ARGUMENT,
          `Unsupported algorithm ${String(this.algorithm)}`,
        );
    }
  }
}
