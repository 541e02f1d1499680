import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import type { VerificationKey, VerifyAlgorithm } from './jwt-verifier.js';
import { keyFitsAlgorithm } from '../../common/keys.js';
import { printable } from '../http/printable.js';

/** Largest RSA modulus accepted in a verification key: bigger ones only make every refusal cost more. */
export const MAX_RSA_MODULUS_BITS = 8192;
/** The only RSA public exponent accepted in a verification key (small ones are what forgeries exploit). */
const RSA_EXPONENT = 65537n;
const ED25519_P = 2n ** 255n - 19n;
// The y coordinates (little-endian, sign bit cleared) of the 8 points of small order on edwards25519: 1 (identity),
// p-1 (order 2), 0 (order 4, both signs) and the two pairs of order 8. A public key among them verifies forged
// signatures (the identity key accepts R = identity, S = 0 for every message).
const ED25519_SMALL_ORDER_Y = new Set([
  0n,
  1n,
  ED25519_P - 1n,
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
  0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n,
]);
// kty (and crv) of each verification algorithm.
const KEY_TYPE: Record<VerifyAlgorithm, { kty: string; crv?: string }> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};
/** Every algorithm a trusted issuer may declare (never HMAC, never `none`). */
export const VERIFY_ALGORITHMS: readonly VerifyAlgorithm[] = Object.keys(
  KEY_TYPE,
) as VerifyAlgorithm[];
/** Algorithms a trusted issuer's keys may use when none are configured. */
export const DEFAULT_VERIFY_ALGORITHMS: readonly VerifyAlgorithm[] = [
  'RS256',
  'ES256',
  'EdDSA',
];

/** Options of {@link importVerificationJwk}. */
export interface ImportVerificationJwkOptions {
  /**
   * Algorithms the key may be bound to. A JWK with `alg` must name one of them; a JWK without `alg` is bound to
   * the one of them that fits its `kty`/`crv` (refused when none, or several, fit). @default ['RS256', 'ES256', 'EdDSA']
   */
  algorithms?: readonly VerifyAlgorithm[];
}

function refused(kid: unknown, why: string): JwtIssuerError {
  return new JwtIssuerError(
    JwtIssuerErrorCode.KEY_INVALID,
    typeof kid === 'string'
      ? `JWK '${printable(kid)}' refused: ${why}`
      : `JWK refused: ${why}`,
  );
}

function base64urlBytes(value: unknown, maxChars: number): Buffer | undefined {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > maxChars ||
    !/^[A-Za-z0-9_-]+$/.test(value)
  ) {
    return undefined;
  }
  return Buffer.from(value, 'base64url');
}

/** Throws when a public key would let anyone forge, or costs too much to check. */
function assertSafePublicKey(
  key: KeyObject,
  jwk: Record<string, unknown>,
): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) > MAX_RSA_MODULUS_BITS) {
      throw refused(
        jwk.kid,
        `RSA modulus of ${details.modulusLength} bits (at most ${MAX_RSA_MODULUS_BITS})`,
      );
    }
    if (details.publicExponent !== RSA_EXPONENT) {
      throw refused(
        jwk.kid,
        'RSA public exponent other than 65537 (a weak exponent lets signatures be forged)',
      );
    }
  } else if (key.asymmetricKeyType === 'ed25519') {
    const x = base64urlBytes(jwk.x, 43);
    if (x?.length !== 32)
      throw refused(jwk.kid, 'Ed25519 x is not 32 bytes of base64url');
    const y =
      BigInt(`0x${Buffer.from(x.toReversed()).toString('hex')}`) &
      ((1n << 255n) - 1n);
    if (y >= ED25519_P)
      throw refused(jwk.kid, 'Ed25519 public key is not canonical');
    if (ED25519_SMALL_ORDER_Y.has(y)) {
      throw refused(
        jwk.kid,
        'Ed25519 public key of small order (it verifies forged signatures)',
      );
    }
  }
  // EC points off the curve are refused by createPublicKey itself (test/service-token/remote-jwks.spec.ts).
}

/**
 * Imports one public JWK, bound to exactly one algorithm: its `alg`, or (without `alg`) the one allowed algorithm
 * that fits its `kty`/`crv`. Refuses keys without a usable `kid`, with an `alg` not allowed, with `use` other than
 * `sig`, with `key_ops` not allowing `verify`, with private members, that do not fit their algorithm, or that would
 * let anyone forge: RSA exponents other than 65537, RSA moduli over 8192 bits, Ed25519 keys of small order or
 * not canonical (EC points off the curve do not parse).
 *
 * @example
 * const key = importVerificationJwk({ kty: 'OKP', crv: 'Ed25519', x: '…', kid: 'd-1700000000000', alg: 'EdDSA', use: 'sig' });
 * const verifier = new JwtVerifier({ sources: [{ issuer: 'https://orders.internal', get: (kid) => (kid === key.kid ? key : undefined) }] });
 * @throws {JwtIssuerError} `KEY_INVALID` naming the (sanitized) `kid` and the reason, never the key.
 */
export function importVerificationJwk(
  jwk: unknown,
  options: ImportVerificationJwkOptions = {},
): VerificationKey {
  const allowed = options.algorithms ?? DEFAULT_VERIFY_ALGORITHMS;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw refused(undefined, 'not an object');
  const j = jwk as Record<string, unknown>;
  if (typeof j.kid !== 'string' || j.kid === '' || j.kid.length > 256)
    throw refused(undefined, 'no kid (or longer than 256 characters)');
  const fits = (a: VerifyAlgorithm) =>
    KEY_TYPE[a].kty === j.kty &&
    (KEY_TYPE[a].crv === undefined || KEY_TYPE[a].crv === j.crv);
  let alg: VerifyAlgorithm;
  if (j.alg === undefined) {
    const candidates = allowed.filter(fits);
    if (candidates.length !== 1) {
      throw refused(
        j.kid,
        candidates.length === 0
          ? `no alg, and no allowed algorithm (${allowed.join(', ')}) fits its kty/crv`
          : `no alg, and several allowed algorithms fit its kty/crv (${candidates.join(', ')})`,
      );
    }
    alg = candidates[0];
  } else {
    if (typeof j.alg !== 'string' || !Object.hasOwn(KEY_TYPE, j.alg))
      throw refused(j.kid, `alg '${printable(j.alg, 16)}' is not usable`);
    alg = j.alg as VerifyAlgorithm;
    if (!allowed.includes(alg))
      throw refused(j.kid, `alg ${alg} is not allowed for this issuer`);
    if (j.kty !== KEY_TYPE[alg].kty)
      throw refused(j.kid, `kty does not fit ${alg}`);
  }
  if (j.use !== undefined && j.use !== 'sig')
    throw refused(j.kid, 'not for signatures (use)');
  if (
    j.key_ops !== undefined &&
    !(Array.isArray(j.key_ops) && j.key_ops.includes('verify'))
  ) {
    throw refused(j.kid, 'does not allow verify (key_ops)');
  }
  if ('d' in j || 'p' in j || 'k' in j)
    throw refused(j.kid, 'holds private or secret material');
  // Bound the work before parsing: a modulus over the maximum (1 leading zero octet tolerated) is refused unread.
  if (
    j.kty === 'RSA' &&
    typeof j.n === 'string' &&
    j.n.length > Math.ceil(((MAX_RSA_MODULUS_BITS / 8 + 1) * 4) / 3)
  ) {
    throw refused(
      j.kid,
      `RSA modulus longer than ${MAX_RSA_MODULUS_BITS} bits`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: j as JsonWebKey, format: 'jwk' });
  } catch {
    throw refused(j.kid, 'does not parse (or an EC point off its curve)');
  }
  if (!keyFitsAlgorithm(key, alg)) throw refused(j.kid, `does not fit ${alg}`);
  assertSafePublicKey(key, j);
  return { kid: j.kid, alg, key, active: true };
}
