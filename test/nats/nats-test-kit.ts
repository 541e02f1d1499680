import { randomBytes, sign } from 'node:crypto';
import { fromSeed } from '@nats-io/nkeys';
import { expect } from 'vitest';
import { JwtIssuerError } from '../../lib/index.js';
import { seedPrivateKey } from '../support/nats-raw-connect.js';

const b64 = (v: unknown): string =>
  Buffer.from(JSON.stringify(v)).toString('base64url');

/** The claims of a hand-made user JWT; `nats` is written exactly as given (plus `type` and `version`). */
export interface HandClaims {
  name: string;
  /** Public user key. */
  sub: string;
  nats: Record<string, unknown>;
  exp?: number;
}

/** Runs `fn` and returns the `JwtIssuerError` it throws (fails the test if it throws nothing or something else). */
export function errorOf(fn: () => unknown): JwtIssuerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(JwtIssuerError);
    return e as JwtIssuerError;
  }
  throw new Error('expected a JwtIssuerError');
}

/**
 * Signs a NATS user JWT by hand with node:crypto, without this project's code and without any validation: used to
 * show what nats-server does with claims the library refuses to sign.
 */
export function handSignUserJwt(
  signingSeed: string,
  claims: HandClaims,
): string {
  const kp = fromSeed(new TextEncoder().encode(signingSeed));
  const key = seedPrivateKey(signingSeed);
  const body = {
    ...(claims.exp === undefined ? {} : { exp: claims.exp }),
    iat: Math.floor(Date.now() / 1000),
    jti: randomBytes(16).toString('hex').toUpperCase(),
    iss: kp.getPublicKey(),
    name: claims.name,
    nats: { ...claims.nats, type: 'user', version: 2 },
    sub: claims.sub,
  };
  const input = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64(body)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}
