import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { isPlainObject } from '../common/is-plain-object.js';
import { assertKeyFitsAlgorithm, loadPrivateKey } from '../common/keys.js';
import { VERIFY_ALGORITHMS } from './verifying/verification-jwk.js';
import type { VerifyAlgorithm } from './verifying/jwt-verifier.js';
import { loggableIssuer } from './http/printable.js';
import { httpUrl, isLoopback } from './http/urls.js';
import { JwtIssuerError } from '../errors.js';
import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import { INVALID, type Invalid } from '../config/option-fields.js';
import { readOptions } from '../config/read-options.js';
import { publicationLeadSeconds } from './issuing/key-store/publication-lead.js';
import { normalizeOAuth2Client } from './outgoing/oauth2/oauth2-client.options.js';
import { RedisServiceTokenKeyStore } from './issuing/key-store/redis-key-store.js';
import type { ServiceTokenKeyStore } from './issuing/key-store/service-token-key-store.interface.js';
import {
  type ResolvedServiceTokenOptions,
  type ResolvedServiceTokenSection,
  type ResolvedServiceTokenVerification,
  SERVICE_TOKEN_OPTIONS,
  type ServiceTokenAlgorithm,
  type ServiceTokenOptions,
  TRUSTED_ISSUER_OPTIONS,
  type TrustedIssuerOptions,
} from './interfaces/service-token-options.interface.js';
import type { ResolvedOAuth2Client } from './outgoing/oauth2/oauth2-client.interface.js';

/** Options of the issuing side: a section with none of them only verifies other services' tokens. */
const SIGNING: readonly (keyof ServiceTokenOptions)[] = [
  'name',
  'issuer',
  'audience',
  'algorithm',
  'privateKey',
  'tokenValidity',
  'rotationInterval',
  'keyStore',
  'jwksPath',
  'openidConfigurationPath',
];
const TRUSTED_ISSUER_KEYS = Object.keys(TRUSTED_ISSUER_OPTIONS);
const PROFILES = ['service', 'oauth2'];

const generate = promisify(generateKeyPair);

/** Generates a key pair for `algorithm` (development keys and dynamic keys). */
export async function generateServiceKey(
  algorithm: ServiceTokenAlgorithm,
): Promise<KeyObject> {
  switch (algorithm) {
    case 'RS256':
      return (await generate('rsa', { modulusLength: 2048 })).privateKey;
    case 'ES256':
      return (await generate('ec', { namedCurve: 'P-256' })).privateKey;
    case 'EdDSA':
      return (await generate('ed25519')).privateKey;
  }
}

const p = (key: string): string => `service.${key}`;

function isKeyStore(v: unknown): v is ServiceTokenKeyStore {
  const o = v as Partial<Record<keyof ServiceTokenKeyStore, unknown>> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.getAll === 'function' &&
    typeof o.setIfAbsent === 'function' &&
    typeof o.delete === 'function'
  );
}

/** `service.keyStore`: `undefined` for `memory`; a Redis URL loads the optional `ioredis` now (never echoed). */
async function resolveKeyStore(
  v: unknown,
  problems: ConfigProblems,
): Promise<ResolvedServiceTokenOptions['keyStore']> {
  if (v === undefined || v === 'memory') return undefined;
  if (isKeyStore(v)) return { store: v };
  if (typeof v === 'string' && /^rediss?:\/\/[^\s]+$/i.test(v)) {
    try {
      const store = await RedisServiceTokenKeyStore.fromUrl(v);
      return { store, close: () => store.close() };
    } catch (e) {
      if (!(e instanceof JwtIssuerError)) throw e;
      problems.add(p('keyStore'), e.message);
      return undefined;
    }
  }
  problems.add(
    p('keyStore'),
    `must be 'memory', a redis:// or rediss:// URL, or an object implementing ServiceTokenKeyStore (getAll, setIfAbsent, delete)`,
  );
  return undefined;
}

/** `name` and `issuer` are required to issue tokens. */
function requiredToSign(
  value: string | undefined,
  path: string,
  signs: boolean,
  problems: ConfigProblems,
): string | undefined {
  if (value === undefined && signs) problems.add(path, 'is required');
  return value;
}

/** `issuer`: an absolute http(s) URL without query, fragment or credentials. */
function checkIssuer(
  issuer: string | undefined,
  path: string,
  problems: ConfigProblems,
): string | undefined | Invalid {
  if (issuer === undefined) return undefined;
  const u = httpUrl(issuer);
  if (!u || u.search !== '' || u.username !== '' || u.password !== '') {
    problems.add(
      path,
      "must be an absolute http(s) URL (this service's base URL, e.g. https://orders.internal), without query, fragment or credentials",
    );
    return INVALID;
  }
  return issuer;
}

/** A new key must be published one JWKS cool-down (plus the key store's sync) before it signs. */
function checkRotation(
  rotationInterval: number | undefined,
  jwksCooldown: number,
  shared: boolean,
  problems: ConfigProblems,
): void {
  if (rotationInterval === undefined) return;
  const lead = publicationLeadSeconds(jwksCooldown, shared);
  if (rotationInterval < lead) {
    problems.add(
      p('rotationInterval'),
      `${rotationInterval} s is shorter than the publication lead verifiers need (${lead} s: one JWKS cool-down, service.jwksCooldown = ${jwksCooldown} s${shared ? ', plus 2 × the 1 s key store sync' : ''}); ` +
        `a new key would sign before a verifier could refetch the JWKS. Use at least ${lead} s, or a shorter jwksCooldown here and on the verifiers`,
    );
  }
}

/** What a trusted issuer entry is checked against: the section's own issuer and audience. */
interface TrustedIssuerContext {
  readonly issuer: string | undefined;
  readonly acceptOwnTokens: boolean;
  readonly expectedAudience: readonly string[] | undefined;
  readonly seen: Set<string>;
}

/**
 * One `service.trustedIssuers` entry, or `undefined` after recording its (first) problem at `service.trustedIssuers`
 * as `[i] …`. A plain-http key URL to a host other than loopback is a warning, and a problem in production.
 */
function trustedIssuer(
  t: unknown,
  i: number,
  own: TrustedIssuerContext,
  problems: ConfigProblems,
  context: NormalizeContext,
): TrustedIssuerOptions | undefined {
  const refuse = (message: string) => {
    problems.add(p('trustedIssuers'), message);
    return undefined;
  };
  if (!isPlainObject(t) || typeof t.issuer !== 'string' || t.issuer === '') {
    return refuse(`[${i}].issuer must be a non-empty string`);
  }
  const unknown = Object.keys(t).filter(
    (k) => t[k] !== undefined && !TRUSTED_ISSUER_KEYS.includes(k),
  );
  if (unknown.length > 0) {
    return refuse(
      `[${i}] has unknown keys ${unknown.join(', ')} (known: ${TRUSTED_ISSUER_KEYS.join(', ')})`,
    );
  }
  if (t.allowHttp !== undefined && typeof t.allowHttp !== 'boolean') {
    return refuse(`[${i}].allowHttp must be a boolean (true/false)`);
  }
  // Without jwksUri the keys are found by discovery under the issuer URL itself.
  const discovery = t.jwksUri === undefined;
  const uri = httpUrl(discovery ? t.issuer : t.jwksUri);
  if (!uri) {
    return refuse(
      discovery
        ? `[${i}] has no jwksUri, so its issuer must be an absolute http(s) URL (its JWKS is found by OpenID Connect discovery under it)`
        : `[${i}].jwksUri must be an absolute http(s) URL`,
    );
  }
  if (uri.username !== '' || uri.password !== '') {
    // Never echoed: the URL holds a credential.
    return refuse(
      `[${i}].${discovery ? 'issuer' : 'jwksUri'} must not hold a user or password (fetch refuses such URLs)`,
    );
  }
  if (discovery && (uri.search !== '' || uri.hash !== '')) {
    // OpenID Connect Discovery 1.0 §3: an issuer has no query or fragment; its discovery URL could not be built.
    return refuse(
      `[${i}] has no jwksUri, so its issuer must have no query or fragment (its JWKS is found by OpenID Connect discovery under it)`,
    );
  }
  if (uri.protocol === 'http:' && !isLoopback(uri) && !t.allowHttp) {
    // Whoever sits on the path can swap the keys, and then forge any token of this issuer.
    const why = `[${i}].${discovery ? 'issuer (discovery URL)' : 'jwksUri'} of '${loggableIssuer(t.issuer)}' is plain http to ${uri.hostname}: anyone on the network path can replace its keys and forge its tokens. Use https, or set "allowHttp": true on this entry when the path is protected otherwise (e.g. a service mesh with mTLS)`;
    if (context.production) return refuse(why);
    context.logger.warn(`service.trustedIssuers${why}`);
  }
  if (
    own.seen.has(t.issuer) ||
    (own.acceptOwnTokens && t.issuer === own.issuer)
  ) {
    return refuse(
      `[${i}].issuer '${loggableIssuer(t.issuer)}' is listed twice (or is this service's own issuer)`,
    );
  }
  const algorithms = t.algorithms;
  if (
    algorithms !== undefined &&
    (!Array.isArray(algorithms) ||
      algorithms.length === 0 ||
      algorithms.some((a) => !VERIFY_ALGORITHMS.includes(a as VerifyAlgorithm)))
  ) {
    return refuse(
      `[${i}].algorithms must be a non-empty list of ${VERIFY_ALGORITHMS.join(', ')} (never HMAC or none)`,
    );
  }
  const profile = t.profile ?? TRUSTED_ISSUER_OPTIONS.profile.default;
  if (typeof profile !== 'string' || !PROFILES.includes(profile)) {
    return refuse(`[${i}].profile must be 'service' or 'oauth2'`);
  }
  let audience: string[] | undefined;
  if (t.audience !== undefined) {
    const values = typeof t.audience === 'string' ? [t.audience] : t.audience;
    if (
      !Array.isArray(values) ||
      values.length === 0 ||
      values.some((x) => typeof x !== 'string' || x === '')
    ) {
      return refuse(
        `[${i}].audience must be a non-empty string or a non-empty list of them`,
      );
    }
    audience = [...(values as string[])];
  }
  if (
    profile === 'oauth2' &&
    audience === undefined &&
    own.expectedAudience === undefined
  ) {
    return refuse(
      `[${i}] of profile 'oauth2' needs an audience (an access token is meant for one resource server): set its "audience", or service.expectedAudience`,
    );
  }
  const types = t.accessTokenTypes;
  if (
    types !== undefined &&
    (profile !== 'oauth2' ||
      !Array.isArray(types) ||
      types.length === 0 ||
      types.some(
        (x) => typeof x !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(x),
      ))
  ) {
    return refuse(
      `[${i}].accessTokenTypes must be a non-empty list of typ values (e.g. ["at+jwt", "JWT"]), on an entry of profile 'oauth2'`,
    );
  }
  own.seen.add(t.issuer);
  return {
    issuer: t.issuer,
    ...(discovery ? {} : { jwksUri: t.jwksUri as string }),
    ...(profile === 'oauth2' ? { profile: 'oauth2' as const } : {}),
    ...(audience ? { audience } : {}),
    ...(algorithms
      ? { algorithms: [...new Set(algorithms as VerifyAlgorithm[])] }
      : {}),
    ...(t.allowHttp ? { allowHttp: true } : {}),
    ...(types ? { accessTokenTypes: [...(types as string[])] } : {}),
  };
}

/** `service.trustedIssuers`: every entry checked (each problem recorded), the valid ones kept. */
function readTrustedIssuers(
  list: unknown,
  own: Omit<TrustedIssuerContext, 'seen'>,
  problems: ConfigProblems,
  context: NormalizeContext,
): TrustedIssuerOptions[] {
  if (!Array.isArray(list)) {
    problems.add(
      p('trustedIssuers'),
      'must be a list of { "issuer": "…", "jwksUri": "http(s)://…" } (JSON in the environment variable)',
    );
    return [];
  }
  const seen = new Set<string>();
  return list
    .map((t: unknown, i) =>
      trustedIssuer(t, i, { ...own, seen }, problems, context),
    )
    .filter((t) => t !== undefined);
}

/**
 * The static signing key: the one configured, or (outside production, for a section with a name and an issuer) a
 * development key generated now, with a loud warning.
 */
async function signingKey(
  input: unknown,
  {
    name,
    issuer,
    algorithm,
  }: { name?: string; issuer?: string; algorithm: ServiceTokenAlgorithm },
  shared: boolean,
  problems: ConfigProblems,
  context: NormalizeContext,
): Promise<{ privateKey?: KeyObject; developmentKey: boolean }> {
  if (input !== undefined) {
    const privateKey = problems.attempt(p('privateKey'), () => {
      const key = loadPrivateKey(
        input as Parameters<typeof loadPrivateKey>[0],
        p('privateKey'),
      );
      assertKeyFitsAlgorithm(key, algorithm, 'private', p('privateKey'));
      return key;
    });
    return { privateKey, developmentKey: false };
  }
  if (context.production) {
    problems.add(
      p('privateKey'),
      'is required when NODE_ENV is production (a PEM or JWK text, or the path of a key file)',
    );
    return { developmentKey: false };
  }
  if (!name || !issuer) return { developmentKey: false };
  const privateKey = await generateServiceKey(algorithm);
  context.logger.warn(
    `!!! service.privateKey is not set: generated a DEVELOPMENT ${algorithm} key for the service '${name}'. ` +
      (shared
        ? 'The replicas share one development key through service.keyStore, sealed under a key anyone can derive. '
        : 'Its tokens will not verify after a restart. ') +
      'Never run like this in production (set JWT_ISSUER_SERVICE_PRIVATE_KEY). !!!',
  );
  return { privateKey, developmentKey: true };
}

/**
 * Validates the `service` section and imports its key; every problem goes to `problems`. A section with any signing
 * option (`name`, `issuer`, `privateKey`…) issues tokens: `name` and `issuer` are required and, without a key, a
 * development key is generated (with a loud warning) unless `context.production`. A section without any only
 * verifies other services' tokens: it needs `trustedIssuers`, and has no key, no JWKS routes and no warning.
 *
 * Steps: the options of the table, the JWKS routes, the key store and the OAuth 2.0 client, the rotation against the
 * cool-down, the trusted issuers; then a verify-only section's rules, or the signing key.
 */
export async function normalizeServiceTokenOptions(
  input: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): Promise<ResolvedServiceTokenSection | undefined> {
  const signs =
    isPlainObject(input) && SIGNING.some((key) => input[key] !== undefined);
  const read = readOptions('service', input, SERVICE_TOKEN_OPTIONS, problems, {
    name: (v, at) => requiredToSign(v, at, signs, problems),
    issuer: (v, at) =>
      checkIssuer(requiredToSign(v, at, signs, problems), at, problems),
  });
  if (!read) return undefined;
  const { values: v, given } = read;
  if (signs && v.publishJwks && v.jwksPath === v.openidConfigurationPath) {
    problems.add(
      p('jwksPath'),
      'must differ from service.openidConfigurationPath',
    );
  }
  const keyStore = await resolveKeyStore(given.keyStore, problems);
  const oauth2 = normalizeOAuth2Client(given.oauth2, problems);
  checkRotation(
    v.rotationInterval,
    v.jwksCooldown,
    keyStore !== undefined,
    problems,
  );
  const trustedIssuers = readTrustedIssuers(
    v.trustedIssuers,
    v,
    problems,
    context,
  );
  const verification: ResolvedServiceTokenVerification = {
    expectedAudience: v.expectedAudience,
    trustedIssuers,
    acceptOwnTokens: v.acceptOwnTokens,
    clockTolerance: v.clockTolerance,
    maxTokenBytes: v.maxTokenBytes,
    verifiedCacheSize: v.verifiedCacheSize,
    jwksTimeout: v.jwksTimeout,
    jwksCooldown: v.jwksCooldown,
    jwksCacheMaxAge: v.jwksCacheMaxAge,
    jwksKeyGracePeriod: v.jwksKeyGracePeriod,
    refusalLogLines: v.refusalLogLines,
    refusalLogWindow: v.refusalLogWindow,
  };
  if (!signs) return verifyOnly(given, oauth2, verification, problems);

  const { privateKey, developmentKey } = await signingKey(
    given.privateKey,
    v,
    keyStore !== undefined,
    problems,
    context,
  );
  const { name, issuer } = v;
  if (!name || !issuer || !privateKey) return undefined;
  return {
    ...verification,
    oauth2,
    signing: {
      ...verification,
      name,
      issuer,
      audience: v.audience,
      algorithm: v.algorithm,
      privateKey,
      developmentKey,
      tokenValidity: v.tokenValidity,
      rotationInterval: v.rotationInterval,
      keyStore,
      publishJwks: v.publishJwks,
      jwksPath: v.jwksPath,
      openidConfigurationPath: v.openidConfigurationPath,
      oauth2,
    },
  };
}

/**
 * A section that issues no tokens: it verifies other services' tokens (`trustedIssuers`), or gets its outgoing
 * token from an identity provider with a client secret (`oauth2`), or both.
 */
function verifyOnly(
  given: Readonly<Record<string, unknown>>,
  oauth2: ResolvedOAuth2Client | undefined,
  verification: ResolvedServiceTokenVerification,
  problems: ConfigProblems,
): ResolvedServiceTokenSection | undefined {
  if (oauth2?.clientAuth === 'private_key_jwt') {
    problems.add(
      p('oauth2.clientAuth'),
      "private_key_jwt signs its client assertion with this service's key: set JWT_ISSUER_SERVICE_NAME, JWT_ISSUER_SERVICE_ISSUER and JWT_ISSUER_SERVICE_PRIVATE_KEY (and register its JWKS URL at the identity provider), or use client_secret_basic with JWT_ISSUER_SERVICE_OAUTH2_CLIENT_SECRET",
    );
    return undefined;
  }
  if (
    given.oauth2 === undefined &&
    (given.trustedIssuers === undefined ||
      (Array.isArray(given.trustedIssuers) &&
        given.trustedIssuers.length === 0))
  ) {
    problems.add(
      p('trustedIssuers'),
      "is required when the service does not issue tokens: set JWT_ISSUER_SERVICE_TRUSTED_ISSUERS to verify other services' tokens, or JWT_ISSUER_SERVICE_NAME and JWT_ISSUER_SERVICE_ISSUER to issue them (or JWT_ISSUER_SERVICE_OAUTH2_* to get them from an identity provider)",
    );
    return undefined;
  }
  if (given.oauth2 !== undefined && oauth2 === undefined) return undefined;
  return { ...verification, signing: undefined, oauth2 };
}
