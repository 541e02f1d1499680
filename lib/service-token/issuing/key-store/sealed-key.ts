import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

/** A private key as it sits in the key store: PKCS#8 DER under AES-256-GCM. */
export interface SealedKeyRecord {
  v: 1;
  kid: string;
  /** When the writer created it (ms since the epoch, the writer's clock). */
  created: number;
  iv: string;
  data: string;
  tag: string;
}

const SALT = 'nest-jwt-issuer/service-key-store/v1';

/**
 * The AES-256 key that seals the ring's private keys, derived with HKDF-SHA256 from the service's static private
 * key (which every replica is configured with) and bound to the ring. Whoever can open the records could sign with
 * the static key anyway: the store learns nothing a replica's configuration does not already hold. Without a
 * configured key (development), `secret` is a fixed label and the sealing protects nothing.
 */
export function deriveSealingKey(
  secret: KeyObject | string,
  ring: string,
): Buffer {
  const ikm =
    typeof secret === 'string'
      ? Buffer.from(secret)
      : secret.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', ikm, SALT, ring, 32));
}

const aad = (ring: string, field: string, kid: string, created: number) =>
  Buffer.from(`${ring}\n${field}\n${kid}\n${created}`);

/** Seals a private key for `field` of `ring` (the record is bound to both: it cannot be moved to another slot). */
export function sealKey(
  sealingKey: Buffer,
  ring: string,
  field: string,
  kid: string,
  created: number,
  privateKey: KeyObject,
): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
  cipher.setAAD(aad(ring, field, kid, created));
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const data = Buffer.concat([cipher.update(der), cipher.final()]);
  const record: SealedKeyRecord = {
    v: 1,
    kid,
    created,
    iv: iv.toString('base64url'),
    data: data.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
  };
  return JSON.stringify(record);
}

/**
 * Opens a record written by {@link sealKey}.
 *
 * @throws {Error} when the record is malformed or was not sealed under this key for this field (a replica with
 * another `privateKey`, or a forged record).
 */
export function openKey(
  sealingKey: Buffer,
  ring: string,
  field: string,
  text: string,
): { kid: string; created: number; privateKey: KeyObject } {
  if (text.length > 16_384) throw new Error('record too large');
  const r = JSON.parse(text) as Partial<SealedKeyRecord> | null;
  if (
    r?.v !== 1 ||
    typeof r.kid !== 'string' ||
    !/^[ds]-[A-Za-z0-9_-]{1,64}$/.test(r.kid) ||
    typeof r.created !== 'number' ||
    !Number.isSafeInteger(r.created) ||
    typeof r.iv !== 'string' ||
    typeof r.data !== 'string' ||
    typeof r.tag !== 'string'
  ) {
    throw new Error('malformed record');
  }
  const decipher = createDecipheriv(
    'aes-256-gcm',
    sealingKey,
    Buffer.from(r.iv, 'base64url'),
  );
  decipher.setAAD(aad(ring, field, r.kid, r.created));
  decipher.setAuthTag(Buffer.from(r.tag, 'base64url'));
  const der = Buffer.concat([
    decipher.update(Buffer.from(r.data, 'base64url')),
    decipher.final(),
  ]);
  return {
    kid: r.kid,
    created: r.created,
    privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
  };
}
