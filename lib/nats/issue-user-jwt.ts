import { nowSeconds } from '../common/time.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import type {
  IssueUserJwtOptions,
  NatsPermission,
  NatsUserClaimsOptions,
} from './interfaces/nats-user-jwt.interface.js';
import { checkPublicNkey, decodeSeed } from './nkey.js';
import { NkeyJwtSigner } from './nkey-jwt.js';

/** What is known of the signing key's scope: a scoped key's users may carry no permissions or limits. */
export type NatsSigningKeyScope = 'scoped' | 'unscoped' | 'unknown';

const CONNECTION_TYPES = new Set([
  'STANDARD',
  'WEBSOCKET',
  'LEAFNODE',
  'LEAFNODE_WS',
  'MQTT',
  'MQTT_WS',
  'IN_PROCESS',
]);

function invalid(what: string, message: string): never {
  throw new JwtIssuerError(
    JwtIssuerErrorCode.INVALID_ARGUMENT,
    `${what}: ${message}`,
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(
  value: unknown,
  what: string,
  allowEmptyStrings = false,
): string[] {
  if (!Array.isArray(value)) invalid(what, 'must be an array of strings');
  const list = value as unknown[];
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (typeof item !== 'string' || (!allowEmptyStrings && item === '')) {
      invalid(`${what}[${i}]`, 'must be a non-empty string');
    }
  }
  return list as string[];
}

function wholeNumber(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    invalid(
      what,
      `must be a whole number${min === 0 ? ' ≥ 0' : min === 1 ? ' ≥ 1' : ` ≥ ${min}`}`,
    );
  }
  return value;
}

/** Validates an `expiresIn` (whole seconds ≥ 1). */
export function checkExpiresIn(value: unknown, what = 'expiresIn'): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    !Number.isInteger(value) ||
    value < 1
  ) {
    invalid(what, 'must be a whole number of seconds ≥ 1');
  }
  return value;
}

function permissionJson(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) invalid(what, 'must be an object { allow?, deny? }');
  const p = value as NatsPermission;
  const parts: string[] = [];
  if (p.allow !== undefined) {
    parts.push(
      `"allow":${JSON.stringify(stringList(p.allow, `${what}.allow`))}`,
    );
  }
  if (p.deny !== undefined) {
    parts.push(`"deny":${JSON.stringify(stringList(p.deny, `${what}.deny`))}`);
  }
  return `{${parts.join(',')}}`;
}

/** The Go v2 user model fields (permissions and limits) as JSON members, each followed by a comma. */
function userModelJson(
  permissions: unknown,
  limits: unknown,
  scope: NatsSigningKeyScope,
): string {
  if (
    scope === 'scoped' &&
    (permissions !== undefined || limits !== undefined)
  ) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.SCOPED_KEY_PERMISSIONS,
      `${permissions !== undefined ? 'permissions' : 'limits'}: the signing key is a scoped signing key; its template sets the user's permissions and limits, and nats-server refuses a scoped user that carries any`,
    );
  }
  if (
    scope === 'scoped' ||
    (scope === 'unknown' && permissions === undefined && limits === undefined)
  ) {
    return '';
  }
  const out: string[] = [];
  if (permissions !== undefined) {
    if (!isObject(permissions)) {
      invalid('permissions', 'must be an object { pub?, sub?, resp? }');
    }
    const pub = permissionJson(permissions.pub, 'permissions.pub');
    const sub = permissionJson(permissions.sub, 'permissions.sub');
    if (pub !== undefined) out.push(`"pub":${pub}`);
    if (sub !== undefined) out.push(`"sub":${sub}`);
    if (permissions.resp !== undefined) {
      const resp = permissions.resp;
      if (!isObject(resp)) {
        invalid('permissions.resp', 'must be an object { max, ttl? }');
      }
      const max = wholeNumber(resp.max, 'permissions.resp.max', -1);
      const ttl =
        resp.ttl === undefined
          ? 0
          : wholeNumber(resp.ttl, 'permissions.resp.ttl', 0);
      out.push(`"resp":{"max":${max},"ttl":${ttl}}`);
    }
  }
  if (limits !== undefined && !isObject(limits)) {
    invalid('limits', 'must be an object');
  }
  const l: Record<string, unknown> = isObject(limits) ? limits : {};
  if (l.src !== undefined) {
    out.push(`"src":${JSON.stringify(stringList(l.src, 'limits.src'))}`);
  }
  if (l.times !== undefined) {
    if (!Array.isArray(l.times)) {
      invalid('limits.times', 'must be an array of { start, end }');
    }
    const times = (l.times as unknown[]).map((t, i) => {
      const hhmmss = /^\d{2}:\d{2}:\d{2}$/;
      if (
        !isObject(t) ||
        typeof t.start !== 'string' ||
        typeof t.end !== 'string' ||
        !hhmmss.test(t.start) ||
        !hhmmss.test(t.end)
      ) {
        invalid(
          `limits.times[${i}]`,
          'must be { start: "HH:MM:SS", end: "HH:MM:SS" }',
        );
      }
      return { start: t.start, end: t.end };
    });
    out.push(`"times":${JSON.stringify(times)}`);
  }
  if (l.timesLocation !== undefined) {
    if (typeof l.timesLocation !== 'string' || l.timesLocation === '') {
      invalid('limits.timesLocation', 'must be a non-empty string');
    }
    out.push(`"times_location":${JSON.stringify(l.timesLocation)}`);
  }
  for (const key of ['subs', 'data', 'payload'] as const) {
    const v =
      l[key] === undefined ? -1 : wholeNumber(l[key], `limits.${key}`, -1);
    out.push(`"${key}":${v}`);
  }
  if (l.bearerToken !== undefined) {
    if (typeof l.bearerToken !== 'boolean') {
      invalid('limits.bearerToken', 'must be a boolean');
    }
    if (l.bearerToken) out.push('"bearer_token":true');
  }
  if (l.allowedConnectionTypes !== undefined) {
    const types = stringList(
      l.allowedConnectionTypes,
      'limits.allowedConnectionTypes',
    );
    types.forEach((t, i) => {
      if (!CONNECTION_TYPES.has(t)) {
        invalid(
          `limits.allowedConnectionTypes[${i}]`,
          `must be one of ${[...CONNECTION_TYPES].join(', ')}`,
        );
      }
    });
    out.push(`"allowed_connection_types":${JSON.stringify(types)}`);
  }
  return out.map((m) => `${m},`).join('');
}

/**
 * Validates the user part of the options and signs the JWT (internal; shared by {@link issueUserJwt} and the
 * service). `accountJson` is the account id already serialized.
 */
export function signUserJwt(
  signer: NkeyJwtSigner,
  accountJson: string,
  publicUserKey: string,
  options: NatsUserClaimsOptions,
  scope: NatsSigningKeyScope,
  defaultExpiresIn?: number,
): string {
  if (!isObject(options)) invalid('options', 'must be an object');
  const { name, tags, issuedAt } = options;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    invalid('name', 'must be a non-empty string');
  }
  const iat =
    issuedAt === undefined
      ? nowSeconds()
      : wholeNumber(issuedAt, 'issuedAt', 0);
  const expiresIn =
    options.expiresIn === undefined
      ? defaultExpiresIn
      : checkExpiresIn(options.expiresIn);
  const tagsJson =
    tags === undefined || (Array.isArray(tags) && tags.length === 0)
      ? ''
      : `"tags":${JSON.stringify(stringList(tags, 'tags'))},`;
  const model = userModelJson(options.permissions, options.limits, scope);
  return signer.sign({
    exp: expiresIn === undefined ? undefined : iat + expiresIn,
    iat,
    name: name ?? publicUserKey,
    natsJson: `{${model}"issuer_account":${accountJson},${tagsJson}"type":"user","version":2}`,
    sub: publicUserKey,
  });
}

// Signing keys decoded by issueUserJwt, by seed: decoding costs more than signing. Bounded; only valid seeds enter.
const SIGNER_CACHE_SIZE = 32;
const signerCache = new Map<string, NkeyJwtSigner>();

function signerFor(signingKey: unknown): NkeyJwtSigner {
  if (typeof signingKey === 'string') {
    const hit = signerCache.get(signingKey);
    if (hit) return hit;
  }
  const signer = new NkeyJwtSigner(
    decodeSeed(signingKey, 'signingKey', ['account']),
  );
  if (signerCache.size >= SIGNER_CACHE_SIZE) {
    signerCache.delete(signerCache.keys().next().value!);
  }
  signerCache.set(signingKey as string, signer);
  return signer;
}

/**
 * Issues a NATS user JWT signed by an account's signing key, exactly as NATS ADR-14 specifies: the static header
 * `{"typ":"JWT","alg":"ed25519-nkey"}`, a body with `exp?`, `iat`, `jti`, `iss`, `name`,
 * `nats {issuer_account, tags?, type:"user", version:2}` and `sub`, ADR-14's jti and an Ed25519 signature made with
 * `node:crypto`. Meant for a **scoped** signing key, whose template gives the user its permissions; for a
 * non-scoped key pass `permissions` and/or `limits` (then the Go v2 user model is written, unset numeric limits as
 * `-1`). The decoded signing key is kept in a small in-process cache, so repeated calls cost one signature.
 *
 * @example
 * const jwt = issueUserJwt({
 *   signingKey: process.env.NATS_SIGNING_SEED!, // SA…
 *   accountId: 'AC…',
 *   publicUserKey: 'UA…',
 *   name: 'alice',
 *   tags: ['team:blue'],
 *   expiresIn: 3600,
 * });
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` (missing or mistyped argument, `expiresIn` not a whole number ≥ 1,
 *   non-string tag…), `NKEY_INVALID` (bad encoding or checksum), `NKEY_WRONG_TYPE` (a user seed as signing key, a
 *   public key where the seed is needed, a user key as account, an account key as user…). Messages name the
 *   argument and never contain the seed.
 */
export function issueUserJwt(options: IssueUserJwtOptions): string {
  if (!isObject(options)) invalid('options', 'must be an object');
  const signer = signerFor(options.signingKey);
  const accountId = checkPublicNkey(options.accountId, 'accountId', [
    'account',
  ]);
  const publicUserKey = checkPublicNkey(
    options.publicUserKey,
    'publicUserKey',
    ['user'],
  );
  return signUserJwt(
    signer,
    JSON.stringify(accountId),
    publicUserKey,
    options,
    'unknown',
  );
}

const CREDS_WARNING = `************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.`;

/**
 * Formats a user JWT and its seed as a NATS `.creds` file (the Go `FormatUserConfig` layout), as read by
 * `nats --creds`, `credsAuthenticator` and every NATS client.
 *
 * @example
 * writeFileSync('alice.creds', formatUserCreds(jwt, seed), { mode: 0o600 });
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` (the JWT is not a compact JWS), `NKEY_INVALID` / `NKEY_WRONG_TYPE`
 *   (the seed is not a user seed `SU…`). The seed is never quoted.
 */
export function formatUserCreds(jwt: string, seed: string): string {
  if (typeof jwt !== 'string' || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(jwt)) {
    invalid('jwt', 'must be a compact JWT (three base64url segments)');
  }
  decodeSeed(seed, 'seed', ['user']);
  return credsText(jwt, seed);
}

/** The `.creds` text of an already validated JWT and user seed (internal). */
export function credsText(jwt: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

${CREDS_WARNING}

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------

*************************************************************
`;
}
