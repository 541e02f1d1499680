import { isPlainObject } from '../common/is-plain-object.js';
import { nowSeconds } from '../common/time.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import { type AccountJwtFacts, inspectAccountJwt } from './account-jwt.js';
import type { NatsSigningKeyScope } from './interfaces/nats-account.interface.js';
import type {
  IssueUserJwtOptions,
  NatsUserClaimsOptions,
} from './interfaces/nats-user-jwt.interface.js';
import { checkPublicNkey, decodeSeed } from './nkey.js';
import { NkeyJwtSigner } from './nkey-jwt.js';
import { checkTemplateValues, notInTemplate } from './template-values.js';
import {
  invalid,
  stringList,
  userModelJson,
  wholeNumber,
} from './user-model.js';

export type { NatsSigningKeyScope } from './interfaces/nats-account.interface.js';

/** Validates an `expiresIn` (whole seconds ≥ 1). */
export function checkExpiresIn(value: unknown, what = 'expiresIn'): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    invalid(what, 'must be a whole number of seconds ≥ 1');
  }
  return value as number;
}

/**
 * Validates the user part of the options and signs the JWT (internal; shared by {@link issueUserJwt}, the service
 * and the auth-callout responder). `accountJson` is the account id already serialized (`undefined`: no
 * `issuer_account`, as a config-mode callout user); `aud` the callout user's target account in config mode.
 */
export function signUserJwt(
  signer: NkeyJwtSigner,
  accountJson: string | undefined,
  publicUserKey: string,
  options: NatsUserClaimsOptions,
  scope: NatsSigningKeyScope,
  defaultExpiresIn?: number,
  aud?: string,
): string {
  if (!isPlainObject(options)) invalid('options', 'must be an object');
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
  const tagList =
    tags === undefined || (Array.isArray(tags) && tags.length === 0)
      ? undefined
      : stringList(tags, 'tags');
  checkTemplateValues(
    name,
    tagList,
    scope,
    notInTemplate(options.valuesNotInTemplate),
  );
  const model = userModelJson(options.permissions, options.limits, scope);
  return signer.sign({
    aud,
    exp: expiresIn === undefined ? undefined : iat + expiresIn,
    iat,
    name: name ?? publicUserKey,
    natsJson:
      model === ''
        ? natsOpen(accountJson)
        : `{${model}${issuerAccount(accountJson)}`,
    tags: tagList,
    natsTail: USER_NATS_TAIL,
    sub: publicUserKey,
  });
}

const USER_NATS_TAIL = Buffer.from('"type":"user","version":2}');

function issuerAccount(accountJson: string | undefined): string {
  return accountJson === undefined ? '' : `"issuer_account":${accountJson},`;
}

// The opening of a user's `nats` without permissions or limits, kept for the last account id: constant per signer,
// so the hit path builds no string for it.
let lastAccountJson: string | undefined;
let lastNatsOpen = Buffer.from('{');

function natsOpen(accountJson: string | undefined): Buffer {
  if (accountJson !== lastAccountJson) {
    lastAccountJson = accountJson;
    lastNatsOpen = Buffer.from(`{${issuerAccount(accountJson)}`);
  }
  return lastNatsOpen;
}

// issueUserJwt's in-process memos: decoded signing keys (decoding costs more than signing), validated account ids,
// and what checked account JWTs say (checking one costs a signature verification). Each is bounded, and only values
// that passed their checks enter.
const CACHE_SIZE = 32;
const signers = new Map<string, NkeyJwtSigner>();
const accountJsons = new Map<string, string>();
const accounts = new Map<string, AccountJwtFacts>();

/** The value memoized under `key`, or `make()`'s (stored unless it throws; the oldest entry leaves when full). */
function remember<V>(cache: Map<string, V>, key: unknown, make: () => V): V {
  const hit = typeof key === 'string' ? cache.get(key) : undefined;
  if (hit !== undefined) return hit;
  const value = make();
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key as string, value);
  return value;
}

function scopeFrom(
  accountJwt: unknown,
  accountId: string,
  signingPublicKey: string,
): NatsSigningKeyScope {
  if (accountJwt === undefined) return 'unknown';
  const key = `${signingPublicKey} ${accountId} ${String(accountJwt)}`;
  const now = nowSeconds();
  const known = accounts.get(key);
  if (known?.expiresAt !== undefined && known.expiresAt <= now) {
    accounts.delete(key); // checked again below: it throws, naming the expiry
  }
  return remember(accounts, key, () => {
    try {
      return inspectAccountJwt(accountJwt, accountId, signingPublicKey, now);
    } catch (e) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.ACCOUNT_JWT_INVALID,
        `accountJwt: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }).scope;
}

/**
 * Issues a NATS user JWT signed by an account's signing key, exactly as NATS ADR-14 specifies: the static header
 * `{"typ":"JWT","alg":"ed25519-nkey"}`, a body with `exp?`, `iat`, `jti`, `iss`, `name`,
 * `nats {issuer_account, tags?, type:"user", version:2}` and `sub`, ADR-14's jti and an Ed25519 signature made with
 * `node:crypto`. Meant for a **scoped** signing key, whose template gives the user its permissions; for a
 * non-scoped key pass `permissions` and/or `limits` (then the Go v2 user model is written, unset numeric limits as
 * `-1`, every field validated as nats-server's Go `UserClaims.Validate` does at connect). The decoded signing key
 * is kept in a small in-process cache, so repeated calls cost one signature.
 *
 * `name` and tags are refused when they could widen the user's rights through a scoped key's template (`*`, `>`,
 * `.`, whitespace, control characters, an empty tag value): unless `accountJwt` shows the key is not scoped, or
 * `valuesNotInTemplate` says the template does not use them.
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
 *   non-string tag, a permission or limit the server would refuse…), `UNSAFE_TEMPLATE_VALUE` (a name or tag that
 *   could widen the user's rights), `NKEY_INVALID` (bad encoding or checksum), `NKEY_WRONG_TYPE` (a user seed as
 *   signing key, a public key where the seed is needed, a user key as account, an account key as user…),
 *   `ACCOUNT_JWT_INVALID` (`accountJwt` does not verify, is not this account's or does not list the key),
 *   `SCOPED_KEY_PERMISSIONS` (`accountJwt` shows a scoped key and permissions/limits were given). Messages name the
 *   argument and never contain the seed.
 */
export function issueUserJwt(options: IssueUserJwtOptions): string {
  if (!isPlainObject(options)) invalid('options', 'must be an object');
  // The hit path reads the memos directly (no closure per call): this function should cost one signature.
  const { signingKey, accountId } = options;
  let signer =
    typeof signingKey === 'string' ? signers.get(signingKey) : undefined;
  signer ??= remember(
    signers,
    signingKey,
    () => new NkeyJwtSigner(decodeSeed(signingKey, 'signingKey', ['account'])),
  );
  let accountJson =
    typeof accountId === 'string' ? accountJsons.get(accountId) : undefined;
  accountJson ??= remember(accountJsons, accountId, () =>
    JSON.stringify(checkPublicNkey(accountId, 'accountId', ['account'])),
  );
  const publicUserKey = checkPublicNkey(
    options.publicUserKey,
    'publicUserKey',
    ['user'],
  );
  return signUserJwt(
    signer,
    accountJson,
    publicUserKey,
    options,
    options.accountJwt === undefined
      ? 'unknown'
      : scopeFrom(options.accountJwt, accountId, signer.publicKey),
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
