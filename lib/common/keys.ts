import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';

/** A private key as users may configure it: a PEM text, a JWK (object or JSON text), a file path, or a KeyObject. */
export type PrivateKeyInput = string | JsonWebKey | KeyObject;

function keyError(code: JwtIssuerErrorCode, what: string, message: string) {
  // `what` names the option or argument; the key material itself is never part of the message.
  return new JwtIssuerError(code, `${what}: ${message}`);
}

function readKeyText(input: string, what: string): string {
  const text = input.trim();
  if (text.startsWith('-----BEGIN') || text.startsWith('{')) return text;
  if (text.length < 4096 && !text.includes('\n') && existsSync(text)) {
    try {
      return readFileSync(text, 'utf8').trim();
    } catch (cause) {
      throw keyError(
        JwtIssuerErrorCode.KEY_INVALID,
        what,
        `the key file cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  // A value that looks like a path (PEM bodies and JWKs never start like this) names a missing file; the path
  // itself is not repeated, in case the value was a mangled secret.
  if (
    /^(\/|\.{1,2}[\\/]|~\/|[A-Za-z]:[\\/])/.test(text) &&
    !text.includes('\n')
  ) {
    throw keyError(
      JwtIssuerErrorCode.KEY_INVALID,
      what,
      'the key file was not found (the value is a file path that does not exist)',
    );
  }
  throw keyError(
    JwtIssuerErrorCode.KEY_INVALID,
    what,
    'is neither a PEM text, a JWK (JSON), nor the path of a readable key file',
  );
}

/**
 * Imports a private key once, from PEM, JWK or a file holding either. A public key where a private key is needed,
 * and text that is no key, are refused with an error that names `what` and never quotes the key.
 *
 * @throws {JwtIssuerError} `KEY_INVALID` or `KEY_MISMATCH`.
 */
export function loadPrivateKey(
  input: PrivateKeyInput,
  what: string,
): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== 'private') {
      throw keyError(
        JwtIssuerErrorCode.KEY_MISMATCH,
        what,
        `is a ${input.type} key; a private key is needed`,
      );
    }
    return input;
  }
  let jwk: JsonWebKey | undefined;
  let pem: string | undefined;
  if (typeof input === 'object' && input !== null) {
    jwk = input;
  } else if (typeof input === 'string') {
    const text = readKeyText(input, what);
    if (text.startsWith('{')) {
      try {
        jwk = JSON.parse(text) as JsonWebKey;
      } catch {
        throw keyError(
          JwtIssuerErrorCode.KEY_INVALID,
          what,
          'looks like a JWK but is not valid JSON',
        );
      }
    } else {
      pem = text;
    }
  } else {
    throw keyError(
      JwtIssuerErrorCode.KEY_INVALID,
      what,
      'must be a PEM text, a JWK, a key file path or a KeyObject',
    );
  }
  try {
    return jwk
      ? createPrivateKey({ key: jwk, format: 'jwk' })
      : createPrivateKey(pem!);
  } catch (cause) {
    if (isPublicKey(jwk ?? pem!)) {
      throw keyError(
        JwtIssuerErrorCode.KEY_MISMATCH,
        what,
        'is a public key; a private key is needed',
      );
    }
    throw new JwtIssuerError(
      JwtIssuerErrorCode.KEY_INVALID,
      `${what}: is not a valid private key (${jwk ? 'JWK' : 'PEM'} could not be parsed)`,
      // The cause is OpenSSL's message, which never quotes key material.
      { cause },
    );
  }
}

function isPublicKey(key: JsonWebKey | string): boolean {
  try {
    createPublicKey(typeof key === 'string' ? key : { key, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

/** Imports an HMAC secret given as text (its UTF-8 bytes are the key, as Seald's servers use it). */
export function loadSecretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/**
 * Every JWS algorithm a key can be checked against: those the module signs with (`JwsAlgorithm`) and those a
 * trusted issuer may sign with (`VerifyAlgorithm`).
 */
export type KeyAlgorithm =
  | 'HS256'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

/** The key type each algorithm needs, in words for error messages. */
const REQUIRED: Record<KeyAlgorithm, string> = {
  HS256: 'a secret (HMAC) key',
  RS256: 'an RSA key of at least 2048 bits',
  RS384: 'an RSA key of at least 2048 bits',
  RS512: 'an RSA key of at least 2048 bits',
  PS256: 'an RSA key of at least 2048 bits',
  ES256: 'an EC P-256 key',
  ES384: 'an EC P-384 key',
  ES512: 'an EC P-521 key',
  EdDSA: 'an Ed25519 key',
};
// OpenSSL's name of the curve of each ECDSA algorithm.
const CURVE: Partial<Record<KeyAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

/** Whether a key can be used with an algorithm (right type, curve and size). */
export function keyFitsAlgorithm(
  key: KeyObject,
  algorithm: KeyAlgorithm,
): boolean {
  if (algorithm === 'HS256') return key.type === 'secret';
  if (key.type === 'secret') return false;
  const details = key.asymmetricKeyDetails ?? {};
  switch (algorithm) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
    case 'PS256':
      return (
        key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048
      );
    case 'ES256':
    case 'ES384':
    case 'ES512':
      return (
        key.asymmetricKeyType === 'ec' &&
        details.namedCurve === CURVE[algorithm]
      );
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519';
    default:
      return false;
  }
}

/**
 * Throws unless `key` is of the `kind` asked for and fits `algorithm`.
 *
 * @throws {JwtIssuerError} `KEY_MISMATCH`.
 */
export function assertKeyFitsAlgorithm(
  key: KeyObject,
  algorithm: KeyAlgorithm,
  kind: 'private' | 'public' | 'any' = 'any',
  what = 'key',
): void {
  if (!(key instanceof KeyObject)) {
    throw keyError(JwtIssuerErrorCode.KEY_INVALID, what, 'must be a KeyObject');
  }
  if (!keyFitsAlgorithm(key, algorithm)) {
    throw keyError(
      JwtIssuerErrorCode.KEY_MISMATCH,
      what,
      `does not fit ${algorithm}, which needs ${REQUIRED[algorithm]}`,
    );
  }
  if (algorithm !== 'HS256' && kind !== 'any' && key.type !== kind) {
    throw keyError(
      JwtIssuerErrorCode.KEY_MISMATCH,
      what,
      `is a ${key.type} key; a ${kind} key is needed`,
    );
  }
}

/** The public JWK of an asymmetric key, labelled for signature use with `alg` and `kid`. */
export function publicJwk(
  key: KeyObject,
  algorithm: Exclude<KeyAlgorithm, 'HS256'>,
  kid: string,
): JsonWebKey & { kid: string; alg: string; use: 'sig' } {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return { ...pub.export({ format: 'jwk' }), kid, alg: algorithm, use: 'sig' };
}
