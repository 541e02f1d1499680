import { verify } from 'node:crypto';
import {
  COMPACT_JWS,
  decodeSegment,
  parseObject,
} from '../service-token/index.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import { inspectAccountJwt } from '../nats/account-jwt.js';
import type { NatsScopeTemplate } from '../nats/interfaces/nats-account.interface.js';
import { checkPublicNkey, publicKeyObject } from '../nats/nkey.js';
import { applyScopeTemplate } from '../nats/scope-template.js';

/** Longest user JWT {@link decodeNatsUserJwt} reads; a longer text is refused before any parsing. */
export const MAX_NATS_JWT_BYTES = 64 * 1024;

/** Options of {@link decodeNatsUserJwt}. */
export interface DecodeNatsUserJwtOptions {
  /**
   * The account JWT that lists the user's signing key (for a development account, `dev.account.jwt`). With it, the
   * result has the `permissions` a server applies; without it, only the decoded and signature-checked claims.
   */
  accountJwt?: string;
  /** The time the account JWT's expiry is checked against, unix seconds. @default now */
  now?: number;
}

/** The `nats` section of a user JWT, as the module writes it (unknown members kept). */
export interface DecodedNatsUserSection {
  type: 'user';
  version: number;
  issuer_account?: string;
  tags?: string[];
  [member: string]: unknown;
}

/** The claims of a NATS user JWT. */
export interface DecodedNatsUserClaims {
  /** The user's public key (`U…`). */
  sub: string;
  /** The signing key (`A…`): the account key or one of its signing keys. */
  iss: string;
  name: string;
  iat: number;
  exp?: number;
  jti: string;
  nats: DecodedNatsUserSection;
  [claim: string]: unknown;
}

/** What {@link decodeNatsUserJwt} returns. */
export interface DecodedNatsUserJwt {
  header: { typ: string; alg: 'ed25519-nkey' };
  claims: DecodedNatsUserClaims;
  /**
   * `scoped` when the account JWT lists the signing key as a scoped signing key, `unscoped` when it is the account
   * key or a plain signing key, `unknown` when no `accountJwt` was given.
   */
  signingKey: 'scoped' | 'unscoped' | 'unknown';
  /**
   * The permissions and limits a server applies to this user (in the JWT's own JSON shape): for a scoped key, its
   * template with `{{name()}}`, `{{tag(x)}}`… expanded from the user's claims; otherwise the user JWT's own
   * `pub`/`sub`/`resp` and limits. `undefined` without `accountJwt`.
   */
  permissions?: NatsScopeTemplate;
}

const USER_PERMISSION_KEYS = [
  'pub',
  'sub',
  'resp',
  'src',
  'times',
  'times_location',
  'subs',
  'data',
  'payload',
  'bearer_token',
  'allowed_connection_types',
] as const;

function malformed(message: string): never {
  throw new JwtIssuerError(
    JwtIssuerErrorCode.TOKEN_MALFORMED,
    `decodeNatsUserJwt: ${message}`,
  );
}

/**
 * **For tests.** Decodes a NATS user JWT, checks its signature with its issuer's key, and, given the account JWT,
 * returns the permissions a nats-server would apply: for a user of a scoped signing key, the scope's template
 * expanded with the user's name and tags, as the server does on connect. For assertions without a server. Bounded:
 * a text over {@link MAX_NATS_JWT_BYTES} is refused before parsing; messages never quote the token.
 *
 * @example
 * const dev = createNatsDevelopmentAccount();
 * const { jwt } = await natsUsers.createUser({ name: 'alice', tags: ['team:blue'] });
 * const { claims, permissions } = decodeNatsUserJwt(jwt, { accountJwt: dev.account.jwt });
 * expect(permissions?.pub?.allow).toEqual(['users.alice.>', 'teams.blue.>']);
 * @throws {JwtIssuerError} `TOKEN_TOO_LARGE`, `TOKEN_MALFORMED` (not a user JWT), `TOKEN_SIGNATURE_INVALID`,
 * `ACCOUNT_JWT_INVALID` (the account JWT is invalid or does not list the user's signing key),
 * `TOKEN_CLAIM_INVALID` (a server would refuse the user: permissions on a scoped user, or a template that expands
 * to an invalid deny subject).
 */
export function decodeNatsUserJwt(
  jwt: string,
  options: DecodeNatsUserJwtOptions = {},
): DecodedNatsUserJwt {
  if (typeof jwt !== 'string') malformed('the JWT must be a string');
  if (jwt.length > MAX_NATS_JWT_BYTES) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.TOKEN_TOO_LARGE,
      `decodeNatsUserJwt: the JWT is longer than ${MAX_NATS_JWT_BYTES} characters`,
    );
  }
  if (!COMPACT_JWS.test(jwt)) {
    malformed('not a compact JWT (three base64url segments)');
  }
  const [h, b, s] = jwt.split('.');
  const header = parseObject(h, 'header');
  if (header.alg !== 'ed25519-nkey') {
    malformed('not a NATS v2 JWT (header alg must be "ed25519-nkey")');
  }
  const claims = parseObject(b, 'body');
  const nats = claims.nats as Record<string, unknown> | undefined;
  if (typeof nats !== 'object' || nats === null || nats.type !== 'user') {
    malformed('not a user JWT (nats.type must be "user")');
  }
  const iss = checkPublicNkey(claims.iss, 'decodeNatsUserJwt: iss', [
    'account',
  ]);
  checkPublicNkey(claims.sub, 'decodeNatsUserJwt: sub', ['user']);
  if (s === '') malformed('the signature is empty');
  const signature = decodeSegment(s, 'signature');
  if (
    !verify(null, Buffer.from(`${h}.${b}`), publicKeyObject(iss), signature)
  ) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.TOKEN_SIGNATURE_INVALID,
      'decodeNatsUserJwt: the signature does not verify with its issuer key',
    );
  }
  const decoded: DecodedNatsUserJwt = {
    header: header as DecodedNatsUserJwt['header'],
    claims: claims as DecodedNatsUserClaims,
    signingKey: 'unknown',
  };
  if (options.accountJwt === undefined) return decoded;

  const accountId =
    typeof nats.issuer_account === 'string' ? nats.issuer_account : iss;
  const facts = inspectAccountJwt(
    options.accountJwt,
    accountId,
    iss,
    options.now,
  );
  decoded.signingKey = facts.scope;
  const own: Record<string, unknown> = {};
  for (const key of USER_PERMISSION_KEYS) {
    if (nats[key] !== undefined) own[key] = nats[key];
  }
  if (facts.scope === 'unscoped') {
    decoded.permissions = own as NatsScopeTemplate;
    return decoded;
  }
  if (Object.values(own).some((v) => v !== 0)) {
    // What the server logs: a scoped user must carry no permissions or limits at all.
    throw new JwtIssuerError(
      JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
      'decodeNatsUserJwt: a server refuses this user: scoped users require no permissions or limits set',
    );
  }
  const tags = Array.isArray(nats.tags)
    ? nats.tags.filter((t): t is string => typeof t === 'string')
    : undefined;
  const applied = applyScopeTemplate(facts.template ?? {}, {
    name: typeof claims.name === 'string' ? claims.name : '',
    subject: claims.sub as string,
    tags,
    accountName: facts.name,
    accountSubject: accountId,
    accountTags: facts.tags,
  });
  if (!applied.ok) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
      `decodeNatsUserJwt: a server refuses this user: ${applied.reason}`,
    );
  }
  decoded.permissions = applied.template;
  return decoded;
}
