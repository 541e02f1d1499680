import {
  constants,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';

/** base64url of a JSON value (or of raw text). */
export const b64 = (v: unknown): string =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString(
    'base64url',
  );

/** Signs any header/payload by hand with node:crypto, to build hostile tokens. */
export function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject | Buffer | undefined,
  how:
    | 'RS256'
    | 'RS384'
    | 'RS512'
    | 'PS256'
    | 'ES256'
    | 'ES384'
    | 'ES512'
    | 'ES256-DER'
    | 'EdDSA'
    | 'HS256'
    | 'none' = 'RS256',
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  let sig = '';
  const hash = `sha${how.slice(2, 5)}`;
  if (how === 'RS384' || how === 'RS512')
    sig = sign(hash, Buffer.from(input), key as KeyObject).toString(
      'base64url',
    );
  else if (how === 'PS256')
    sig = sign('sha256', Buffer.from(input), {
      key: key as KeyObject,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    }).toString('base64url');
  else if (how === 'ES384' || how === 'ES512')
    sig = sign(hash, Buffer.from(input), {
      key: key as KeyObject,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64url');
  else if (how === 'HS256')
    sig = createHmac('sha256', key as Buffer)
      .update(input)
      .digest('base64url');
  else if (how === 'RS256')
    sig = sign('sha256', Buffer.from(input), key as KeyObject).toString(
      'base64url',
    );
  else if (how === 'ES256')
    sig = sign('sha256', Buffer.from(input), {
      key: key as KeyObject,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64url');
  else if (how === 'ES256-DER')
    sig = sign('sha256', Buffer.from(input), key as KeyObject).toString(
      'base64url',
    );
  else if (how === 'EdDSA')
    sig = sign(null, Buffer.from(input), key as KeyObject).toString(
      'base64url',
    );
  return `${input}.${sig}`;
}

/** The decoded header of a compact JWS. */
export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(
    Buffer.from(token.split('.')[0], 'base64url').toString(),
  ) as Record<string, unknown>;
}

/** The decoded payload of a compact JWS. */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(
    Buffer.from(token.split('.')[1], 'base64url').toString(),
  ) as Record<string, unknown>;
}

/** A fresh RSA 2048 key pair (private key in PKCS#8 PEM too). */
export function rsaKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
  });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}
