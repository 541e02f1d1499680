import { verify } from 'node:crypto';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import type { NatsScopeTemplate } from './interfaces/nats-account.interface.js';
import type { NatsSigningKeyScope } from './interfaces/nats-account.interface.js';
import { checkPublicNkey, publicKeyObject } from './nkey.js';

/** What the account JWT says about the configured signing key (internal). */
export interface AccountJwtFacts {
  /** `scoped` when the key is a `user_scope` signing key, `unscoped` for a plain signing key or the account key. */
  scope: Exclude<NatsSigningKeyScope, 'unknown'>;
  /** The scope's role, when scoped. */
  role?: string;
  /** The scope's template, when scoped (the permissions and limits every user of this key gets). */
  template?: NatsScopeTemplate;
  /** The account's name. */
  name?: string;
  /** Who signed the account JWT (operator or operator signing key). */
  issuer: string;
  /** Expiry of the account JWT (unix seconds), if any. */
  expiresAt?: number;
  /** The account's tags (`nats.tags`; `{{account-tag(x)}}` in scope templates). */
  tags?: string[];
}

function bad(message: string): never {
  throw new JwtIssuerError(JwtIssuerErrorCode.ACCOUNT_JWT_INVALID, message);
}

function segmentJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    bad(`its ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(`its ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Decodes and checks an account JWT against the configured account and signing key: the signature verifies with its
 * issuer's key, it is an account JWT (`nats.type: "account"`), its subject is `accountId`, it has not expired, and
 * `signingPublicKey` is the account key or one of its signing keys. Messages never quote the JWT.
 *
 * @throws {JwtIssuerError} `ACCOUNT_JWT_INVALID`.
 */
export function inspectAccountJwt(
  jwt: unknown,
  accountId: string,
  signingPublicKey: string,
  now = Math.floor(Date.now() / 1000),
): AccountJwtFacts {
  if (typeof jwt !== 'string' || jwt === '') bad('must be a non-empty string');
  const segments = jwt.trim().split('.');
  if (segments.length !== 3 || segments.some((s) => !/^[\w-]+$/.test(s))) {
    bad('is not a compact JWT (three base64url segments)');
  }
  const header = segmentJson(segments[0], 'header');
  if (header.alg !== 'ed25519-nkey') {
    bad('is not a NATS v2 JWT (header alg must be "ed25519-nkey")');
  }
  const body = segmentJson(segments[1], 'body');
  const nats = body.nats as Record<string, unknown> | undefined;
  if (typeof nats !== 'object' || nats === null || nats.type !== 'account') {
    bad('is not an account JWT (nats.type must be "account")');
  }
  let issuer: string;
  try {
    issuer = checkPublicNkey(body.iss, 'iss', ['operator', 'account']);
  } catch (e) {
    bad(
      `its issuer is not an operator or account key (${(e as Error).message})`,
    );
  }
  const signed = verify(
    null,
    Buffer.from(`${segments[0]}.${segments[1]}`),
    publicKeyObject(issuer),
    Buffer.from(segments[2], 'base64url'),
  );
  if (!signed) bad('its signature does not verify with its issuer key');
  if (body.sub !== accountId) {
    bad('its subject is another account than accountId');
  }
  if (typeof body.exp === 'number' && body.exp <= now) {
    bad(`has expired (exp ${new Date(body.exp * 1000).toISOString()})`);
  }
  const facts = {
    issuer,
    name: typeof body.name === 'string' ? body.name : undefined,
    expiresAt: typeof body.exp === 'number' ? body.exp : undefined,
    tags: Array.isArray(nats.tags)
      ? nats.tags.filter((t): t is string => typeof t === 'string')
      : undefined,
  };
  if (signingPublicKey === accountId) return { ...facts, scope: 'unscoped' };
  const keys = Array.isArray(nats.signing_keys) ? nats.signing_keys : [];
  for (const entry of keys as unknown[]) {
    if (entry === signingPublicKey) return { ...facts, scope: 'unscoped' };
    if (
      typeof entry === 'object' &&
      entry !== null &&
      (entry as Record<string, unknown>).key === signingPublicKey
    ) {
      const scope = entry as Record<string, unknown>;
      if (scope.kind !== 'user_scope') {
        bad(`the signing key's entry has an unknown kind`);
      }
      return {
        ...facts,
        scope: 'scoped',
        role: typeof scope.role === 'string' ? scope.role : undefined,
        template: (scope.template ?? {}) as NatsScopeTemplate,
      };
    }
  }
  bad("signingKey's public key is not one of the account's signing keys");
}
