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
import { publicationLeadSeconds } from './issuing/key-store/publication-lead.js';
import { normalizeOAuth2Client } from './outgoing/oauth2/oauth2-client.options.js';
import { RedisServiceTokenKeyStore } from './issuing/key-store/redis-key-store.js';
import type { ServiceTokenKeyStore } from './issuing/key-store/service-token-key-store.interface.js';
import type {
  ResolvedServiceTokenOptions,
  ResolvedServiceTokenSection,
  ServiceTokenAlgorithm,
  TrustedIssuerOptions,
} from './interfaces/service-token-options.interface.js';

const ALGORITHMS: readonly ServiceTokenAlgorithm[] = [
  'RS256',
  'ES256',
  'EdDSA',
];
const KNOWN = [
  'name',
  'issuer',
  'audience',
  'expectedAudience',
  'algorithm',
  'privateKey',
  'tokenValidity',
  'rotationInterval',
  'keyStore',
  'publishJwks',
  'jwksPath',
  'openidConfigurationPath',
  'trustedIssuers',
  'acceptOwnTokens',
  'clockTolerance',
  'maxTokenBytes',
  'verifiedCacheSize',
  'jwksTimeout',
  'jwksCooldown',
  'jwksCacheMaxAge',
  'jwksKeyGracePeriod',
  'refusalLogLines',
  'refusalLogWindow',
  'oauth2',
];
// Options of the issuing side: a section with none of them only verifies other services' tokens.
const SIGNING = [
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
const TRUSTED_ISSUER_KEYS = [
  'issuer',
  'jwksUri',
  'profile',
  'audience',
  'algorithms',
  'allowHttp',
  'accessTokenTypes',
];
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

/**
 * Validates the `service` section and imports its key; every problem goes to `problems`. A section with any signing
 * option (`name`, `issuer`, `privateKey`…) issues tokens: `name` and `issuer` are required and, without a key, a
 * development key is generated (with a loud warning) unless `context.production`. A section without any only
 * verifies other services' tokens: it needs `trustedIssuers`, and has no key, no JWKS routes and no warning.
 */
export async function normalizeServiceTokenOptions(
  input: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): Promise<ResolvedServiceTokenSection | undefined> {
  const raw = problems.section('service', input, KNOWN);
  if (!raw) return undefined;
  const signs = SIGNING.some((key) => raw[key] !== undefined);

  const text = (key: string, required: boolean): string | undefined => {
    const v = raw[key];
    if (v === undefined) {
      if (required) problems.add(p(key), 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      problems.add(p(key), 'must be a non-empty string');
      return undefined;
    }
    return v;
  };
  const seconds = (
    key: string,
    fallback: number | undefined,
    min: number,
    integer = true,
  ): number | undefined => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      (integer && !Number.isInteger(v)) ||
      v < min ||
      v > 3_153_600_000
    ) {
      problems.add(
        p(key),
        `must be ${integer ? 'an integer' : 'a number'} >= ${min} (seconds or count), got ${typeof v === 'number' ? v : typeof v}`,
      );
      return fallback;
    }
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      problems.add(p(key), 'must be a boolean (true/false)');
      return fallback;
    }
    return v;
  };
  const list = (key: string): string[] | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    const values = typeof v === 'string' ? [v] : v;
    if (
      !Array.isArray(values) ||
      values.length === 0 ||
      values.some((x) => typeof x !== 'string' || x === '')
    ) {
      problems.add(
        p(key),
        'must be a non-empty string or a non-empty list of them',
      );
      return undefined;
    }
    return [...(values as string[])];
  };
  const path = (key: string, fallback: string): string => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (
      typeof v !== 'string' ||
      !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(v)
    ) {
      problems.add(p(key), 'must be an absolute URL path starting with "/"');
      return fallback;
    }
    return v;
  };

  const name = text('name', signs);
  let issuer = text('issuer', signs);
  if (issuer !== undefined) {
    const u = httpUrl(issuer);
    if (!u || u.search !== '' || u.username !== '' || u.password !== '') {
      issuer = undefined;
      problems.add(
        p('issuer'),
        "must be an absolute http(s) URL (this service's base URL, e.g. https://orders.internal), without query, fragment or credentials",
      );
    }
  }
  const audience = list('audience');
  const expectedAudience = list('expectedAudience');
  let algorithm: ServiceTokenAlgorithm = 'RS256';
  if (raw.algorithm !== undefined) {
    if (ALGORITHMS.includes(raw.algorithm as ServiceTokenAlgorithm)) {
      algorithm = raw.algorithm as ServiceTokenAlgorithm;
    } else {
      problems.add(p('algorithm'), `must be one of ${ALGORITHMS.join(', ')}`);
    }
  }
  const tokenValidity = seconds('tokenValidity', 3600, 1)!;
  const rotationInterval = seconds('rotationInterval', undefined, 1);
  const publishJwks = bool('publishJwks', true);
  const jwksPath = path('jwksPath', '/.well-known/jwks.json');
  const openidConfigurationPath = path(
    'openidConfigurationPath',
    '/.well-known/openid-configuration',
  );
  if (signs && publishJwks && jwksPath === openidConfigurationPath) {
    problems.add(
      p('jwksPath'),
      'must differ from service.openidConfigurationPath',
    );
  }
  const acceptOwnTokens = bool('acceptOwnTokens', true);
  const clockTolerance = seconds('clockTolerance', 5, 0, false)!;
  const maxTokenBytes = seconds('maxTokenBytes', 8192, 64)!;
  const verifiedCacheSize = seconds('verifiedCacheSize', 10_000, 0)!;
  const jwksTimeout = seconds('jwksTimeout', 5, 0.001, false)!;
  const jwksCooldown = seconds('jwksCooldown', 30, 0, false)!;
  const jwksCacheMaxAge = seconds('jwksCacheMaxAge', 600, 0, false)!;
  const jwksKeyGracePeriod = seconds('jwksKeyGracePeriod', 300, 0, false)!;
  const refusalLogLines = seconds('refusalLogLines', 10, 0)!;
  const refusalLogWindow = seconds('refusalLogWindow', 60, 1, false)!;
  const keyStore = await resolveKeyStore(raw.keyStore, problems);
  const oauth2 = normalizeOAuth2Client(raw.oauth2, problems);
  if (rotationInterval !== undefined) {
    const lead = publicationLeadSeconds(jwksCooldown, keyStore !== undefined);
    if (rotationInterval < lead) {
      problems.add(
        p('rotationInterval'),
        `${rotationInterval} s is shorter than the publication lead verifiers need (${lead} s: one JWKS cool-down, service.jwksCooldown = ${jwksCooldown} s${keyStore ? ', plus 2 × the 1 s key store sync' : ''}); ` +
          `a new key would sign before a verifier could refetch the JWKS. Use at least ${lead} s, or a shorter jwksCooldown here and on the verifiers`,
      );
    }
  }

  const trustedIssuers: TrustedIssuerOptions[] = [];
  if (raw.trustedIssuers !== undefined) {
    if (!Array.isArray(raw.trustedIssuers)) {
      problems.add(
        p('trustedIssuers'),
        'must be a list of { "issuer": "…", "jwksUri": "http(s)://…" } (JSON in the environment variable)',
      );
    } else {
      const seen = new Set<string>();
      raw.trustedIssuers.forEach((t: unknown, i: number) => {
        if (
          !isPlainObject(t) ||
          typeof t.issuer !== 'string' ||
          t.issuer === ''
        ) {
          problems.add(
            p('trustedIssuers'),
            `[${i}].issuer must be a non-empty string`,
          );
          return;
        }
        const unknown = Object.keys(t).filter(
          (k) => t[k] !== undefined && !TRUSTED_ISSUER_KEYS.includes(k),
        );
        if (unknown.length > 0) {
          problems.add(
            p('trustedIssuers'),
            `[${i}] has unknown keys ${unknown.join(', ')} (known: ${TRUSTED_ISSUER_KEYS.join(', ')})`,
          );
          return;
        }
        if (t.allowHttp !== undefined && typeof t.allowHttp !== 'boolean') {
          problems.add(
            p('trustedIssuers'),
            `[${i}].allowHttp must be a boolean (true/false)`,
          );
          return;
        }
        // Without jwksUri the keys are found by discovery under the issuer URL itself.
        const discovery = t.jwksUri === undefined;
        const uri = httpUrl(discovery ? t.issuer : t.jwksUri);
        if (!uri) {
          problems.add(
            p('trustedIssuers'),
            discovery
              ? `[${i}] has no jwksUri, so its issuer must be an absolute http(s) URL (its JWKS is found by OpenID Connect discovery under it)`
              : `[${i}].jwksUri must be an absolute http(s) URL`,
          );
          return;
        }
        const url = uri;
        if (url.username !== '' || url.password !== '') {
          // Never echoed: the URL holds a credential.
          problems.add(
            p('trustedIssuers'),
            `[${i}].${discovery ? 'issuer' : 'jwksUri'} must not hold a user or password (fetch refuses such URLs)`,
          );
          return;
        }
        if (uri.protocol === 'http:' && !isLoopback(uri) && !t.allowHttp) {
          // Whoever sits on the path can swap the keys, and then forge any token of this issuer.
          const why = `[${i}].${discovery ? 'issuer (discovery URL)' : 'jwksUri'} of '${loggableIssuer(t.issuer)}' is plain http to ${uri.hostname}: anyone on the network path can replace its keys and forge its tokens. Use https, or set "allowHttp": true on this entry when the path is protected otherwise (e.g. a service mesh with mTLS)`;
          if (context.production) {
            problems.add(p('trustedIssuers'), why);
            return;
          }
          context.logger.warn(`service.trustedIssuers${why}`);
        }
        if (seen.has(t.issuer) || (acceptOwnTokens && t.issuer === issuer)) {
          problems.add(
            p('trustedIssuers'),
            `[${i}].issuer '${loggableIssuer(t.issuer)}' is listed twice (or is this service's own issuer)`,
          );
          return;
        }
        const algorithms = t.algorithms;
        if (
          algorithms !== undefined &&
          (!Array.isArray(algorithms) ||
            algorithms.length === 0 ||
            algorithms.some(
              (a) => !VERIFY_ALGORITHMS.includes(a as VerifyAlgorithm),
            ))
        ) {
          problems.add(
            p('trustedIssuers'),
            `[${i}].algorithms must be a non-empty list of ${VERIFY_ALGORITHMS.join(', ')} (never HMAC or none)`,
          );
          return;
        }
        const profile = t.profile ?? 'service';
        if (typeof profile !== 'string' || !PROFILES.includes(profile)) {
          problems.add(
            p('trustedIssuers'),
            `[${i}].profile must be 'service' or 'oauth2'`,
          );
          return;
        }
        let issuerAudience: string[] | undefined;
        if (t.audience !== undefined) {
          const values =
            typeof t.audience === 'string' ? [t.audience] : t.audience;
          if (
            !Array.isArray(values) ||
            values.length === 0 ||
            values.some((x) => typeof x !== 'string' || x === '')
          ) {
            problems.add(
              p('trustedIssuers'),
              `[${i}].audience must be a non-empty string or a non-empty list of them`,
            );
            return;
          }
          issuerAudience = [...(values as string[])];
        }
        if (
          profile === 'oauth2' &&
          issuerAudience === undefined &&
          expectedAudience === undefined
        ) {
          problems.add(
            p('trustedIssuers'),
            `[${i}] of profile 'oauth2' needs an audience (an access token is meant for one resource server): set its "audience", or service.expectedAudience`,
          );
          return;
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
          problems.add(
            p('trustedIssuers'),
            `[${i}].accessTokenTypes must be a non-empty list of typ values (e.g. ["at+jwt", "JWT"]), on an entry of profile 'oauth2'`,
          );
          return;
        }
        seen.add(t.issuer);
        trustedIssuers.push({
          issuer: t.issuer,
          ...(discovery ? {} : { jwksUri: t.jwksUri as string }),
          ...(profile === 'oauth2' ? { profile: 'oauth2' as const } : {}),
          ...(issuerAudience ? { audience: issuerAudience } : {}),
          ...(algorithms
            ? { algorithms: [...new Set(algorithms as VerifyAlgorithm[])] }
            : {}),
          ...(t.allowHttp ? { allowHttp: true } : {}),
          ...(types ? { accessTokenTypes: [...(types as string[])] } : {}),
        });
      });
    }
  }

  const verification = {
    expectedAudience,
    trustedIssuers,
    acceptOwnTokens,
    clockTolerance,
    maxTokenBytes,
    verifiedCacheSize,
    jwksTimeout,
    jwksCooldown,
    jwksCacheMaxAge,
    jwksKeyGracePeriod,
    refusalLogLines,
    refusalLogWindow,
  };
  if (!signs) {
    if (oauth2?.clientAuth === 'private_key_jwt') {
      problems.add(
        p('oauth2.clientAuth'),
        "private_key_jwt signs its client assertion with this service's key: set JWT_ISSUER_SERVICE_NAME, JWT_ISSUER_SERVICE_ISSUER and JWT_ISSUER_SERVICE_PRIVATE_KEY (and register its JWKS URL at the identity provider), or use client_secret_basic with JWT_ISSUER_SERVICE_OAUTH2_CLIENT_SECRET",
      );
      return undefined;
    }
    if (
      raw.oauth2 === undefined &&
      (raw.trustedIssuers === undefined ||
        (Array.isArray(raw.trustedIssuers) && raw.trustedIssuers.length === 0))
    ) {
      problems.add(
        p('trustedIssuers'),
        "is required when the service does not issue tokens: set JWT_ISSUER_SERVICE_TRUSTED_ISSUERS to verify other services' tokens, or JWT_ISSUER_SERVICE_NAME and JWT_ISSUER_SERVICE_ISSUER to issue them (or JWT_ISSUER_SERVICE_OAUTH2_* to get them from an identity provider)",
      );
      return undefined;
    }
    if (raw.oauth2 !== undefined && oauth2 === undefined) return undefined;
    return { ...verification, signing: undefined, oauth2 };
  }

  let privateKey: KeyObject | undefined;
  let developmentKey = false;
  if (raw.privateKey !== undefined) {
    privateKey = problems.attempt(p('privateKey'), () => {
      const key = loadPrivateKey(
        raw.privateKey as Parameters<typeof loadPrivateKey>[0],
        p('privateKey'),
      );
      assertKeyFitsAlgorithm(key, algorithm, 'private', p('privateKey'));
      return key;
    });
  } else if (context.production) {
    problems.add(
      p('privateKey'),
      'is required when NODE_ENV is production (a PEM or JWK text, or the path of a key file)',
    );
  } else if (name && issuer) {
    privateKey = await generateServiceKey(algorithm);
    developmentKey = true;
    context.logger.warn(
      `!!! service.privateKey is not set: generated a DEVELOPMENT ${algorithm} key for the service '${name}'. ` +
        (keyStore
          ? 'The replicas share one development key through service.keyStore, sealed under a key anyone can derive. '
          : 'Its tokens will not verify after a restart. ') +
        'Never run like this in production (set JWT_ISSUER_SERVICE_PRIVATE_KEY). !!!',
    );
  }

  if (!name || !issuer || !privateKey) return undefined;
  return {
    ...verification,
    oauth2,
    signing: {
      ...verification,
      name,
      issuer,
      audience,
      algorithm,
      privateKey,
      developmentKey,
      tokenValidity,
      rotationInterval,
      keyStore,
      publishJwks,
      jwksPath,
      openidConfigurationPath,
      oauth2,
    },
  };
}
