import type { KeyAlgorithm } from '../../common/keys.js';
import { isUtf8 } from 'node:buffer';
import { constants, type KeyObject, verify as cryptoVerify } from 'node:crypto';
import {
  JwtIssuerError,
  JwtIssuerErrorCode,
  knownErrorCode,
} from '../../errors.js';
import {
  ATTR,
  counterIn,
  CounterSeries,
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
  UNTRUSTED_ISSUER,
} from '../../common/telemetry.js';
import { loggableIssuer } from '../http/printable.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/**
 * Asymmetric JWS algorithms the verifier accepts (HMAC is never accepted: a public key is no secret; `none` never).
 * RS256, ES256 and EdDSA are allowed by default; PS256, RS384, RS512, ES384 and ES512 (what identity providers
 * sign with) only for an issuer that declares them.
 */
export type VerifyAlgorithm = Exclude<KeyAlgorithm, 'HS256'>;

/** A public key bound to one algorithm and one `kid`, imported once. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: VerifyAlgorithm;
  readonly key: KeyObject;
  /** Set to false when the key is withdrawn: tokens it signed are no longer served from the cache. */
  active: boolean;
}

/** Where the verifier finds the keys of one issuer. */
export interface KeySource {
  /** The `iss` whose tokens these keys sign. */
  readonly issuer: string;
  /** The key with this `kid`, if known (synchronous: the hot path never waits). */
  get(kid: string): VerificationKey | undefined;
  /**
   * Optional: look for new keys (e.g. refetch a JWKS, respecting a cool-down). Resolves once done; rejects with
   * `JWKS_UNAVAILABLE` when the keys could not be fetched.
   */
  refresh?(): Promise<void>;
}

/**
 * The claim checks of one issuer's tokens, replacing the verifier's defaults for that issuer (the token profile).
 * Signature, `exp`, `nbf` and `iat` are checked for every issuer alike.
 */
export interface IssuerClaimRules {
  /** Accept only tokens whose `aud` contains one of these. @default the verifier's `audience` */
  audience?: readonly string[];
  /** Claims that must be present with exactly these values. @default the verifier's `requiredClaims` */
  requiredClaims?: Readonly<Record<string, string | number | boolean>>;
  /** Claims that must be present as non-empty strings (e.g. `client_id`). @default none */
  requiredStringClaims?: readonly string[];
  /**
   * The `typ` header values accepted when a token has one (compared without case); a token without `typ` passes.
   * For OAuth 2.0 access tokens (RFC 9068) `['at+jwt', 'application/at+jwt']`: an ID token (`typ: JWT`) is then
   * not taken for an access token. @default any `typ`
   */
  typ?: readonly string[];
}

/** Options of {@link JwtVerifier}. */
export interface JwtVerifierOptions {
  /** Per issuer (`iss`): claim checks that replace the defaults below for that issuer's tokens. */
  issuerRules?: ReadonlyMap<string, IssuerClaimRules>;
  /** One source per trusted issuer; a token's `iss` selects the source, its `kid` the key. */
  sources: readonly KeySource[];
  /** Accept only tokens whose `aud` contains one of these. @default no audience check */
  audience?: readonly string[];
  /** Claims that must be present with exactly these (primitive) values, e.g. `{ source: 'microservice' }`. */
  requiredClaims?: Readonly<Record<string, string | number | boolean>>;
  /** Leeway for `exp`, `nbf`, `iat`, in seconds. @default 5 */
  clockTolerance?: number;
  /** Longer tokens are refused before any parsing. @default 8192 */
  maxTokenBytes?: number;
  /**
   * Entries of the LRU cache of verified tokens (a token is cached from its second sight, and kept no longer than
   * its `exp`); 0 disables it.
   * @default 10000
   */
  cacheSize?: number;
}

/** The claims of a verified token (read-only; frozen when they come from, or went into, the shared cache). */
export type VerifiedClaims = Readonly<Record<string, unknown>> & {
  readonly iss: string;
  readonly exp: number;
};

interface ParsedHeader {
  alg: string;
  kid: string;
  /** `typ` when present (any JSON value), else `undefined`. */
  typ: unknown;
}

/** {@link IssuerClaimRules} ready for the verifier. */
interface CompiledRules {
  readonly audience: ReadonlySet<string> | undefined;
  readonly required: readonly [string, string | number | boolean][];
  readonly requiredStrings: readonly string[];
  /** Lower-case `typ` values accepted when present; `undefined`: any. */
  readonly typ: ReadonlySet<string> | undefined;
}

// Header parameters that would make the verifier trust something other than its configured keys, or change the
// meaning of the signature: refused outright.
const REFUSED_HEADERS = ['crit', 'jku', 'x5u', 'jwk', 'x5c', 'b64', 'zip'];
const B64URL_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  B64URL_VALUE[
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(
      i,
    )
  ] = i;
}
const HEADER_CACHE_SIZE = 256;

/** The verification counters of one issuer (configured), or of every untrusted one together. */
class IssuerCounters {
  readonly valid: CounterSeries;
  private readonly refused = new Map<string, CounterSeries>();

  constructor(
    private readonly issuer: string,
    private readonly telemetry: JwtIssuerTelemetry | undefined,
    trusted = true,
  ) {
    // No token of an untrusted issuer is ever valid: no such series.
    this.valid = trusted
      ? this.series({ [ATTR.outcome]: 'valid' })
      : new CounterSeries();
  }

  /** Counts a refusal under its code (a library code, or `unexpected`: never text from the token). */
  refuse(error: unknown): void {
    const code = knownErrorCode((error as { code?: unknown } | null)?.code);
    let s = this.refused.get(code);
    if (s === undefined) {
      s = this.series({ [ATTR.outcome]: 'refused', [ATTR.errorType]: code });
      this.refused.set(code, s);
    }
    s.value++;
  }

  private series(attributes: Record<string, string>): CounterSeries {
    // A metric label: a userinfo, query or fragment of a configured issuer never becomes one.
    const all = { ...attributes, [ATTR.issuer]: loggableIssuer(this.issuer) };
    return this.telemetry
      ? this.telemetry.counter(JWT_ISSUER_INSTRUMENTS.verifications, all)
      : new CounterSeries(all);
  }
}

/**
 * `TOKEN_KEY_UNKNOWN` with the key source that lacks the key, so that {@link JwtVerifier.verifyFast} can ask it for
 * new keys once. `source` is a typed field, not enumerable: loggers that print an error's own properties would print
 * the whole key source (internal: the class is not exported).
 */
class KeyUnknownError extends JwtIssuerError {
  declare readonly source: KeySource;

  constructor(source: KeySource, message: string) {
    super(JwtIssuerErrorCode.TOKEN_KEY_UNKNOWN, message);
    Object.defineProperty(this, 'source', { value: source, enumerable: false });
  }
}

function fail(code: JwtIssuerErrorCode, message: string): never {
  throw new JwtIssuerError(code, message);
}

// A compact JWS, spelled one way only: three segments of the base64url alphabet joined by two dots (no padding, no
// whitespace, nothing outside ASCII). Node's base64url decoder and a latin1 signing input both keep only
// the low byte of each UTF-16 unit, so without this check `\u0141` or a fullwidth letter would stand in for `A`: one
// token could be respelled in countless ways, each a distinct string. `\w` without the `u` flag is `[A-Za-z0-9_]`.
// An empty signature passes here so that `alg: none` is reported as such (the header is read first); it is refused
// when the signature is decoded.
export const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * Decodes one base64url segment (its alphabet already checked by {@link COMPACT_JWS}) and refuses a non-canonical
 * spelling: a last character whose unused low bits are not zero decodes to the same bytes as its canonical twin
 * (internal).
 */
export function decodeSegment(segment: string, what: string): Buffer {
  const length = segment.length;
  const rest = length & 3;
  if (length === 0 || rest === 1) {
    fail(JwtIssuerErrorCode.TOKEN_MALFORMED, `the ${what} is not base64url`);
  }
  if (rest !== 0) {
    const last = B64URL_VALUE[segment.charCodeAt(length - 1)];
    if ((last & (rest === 2 ? 0x0f : 0x03)) !== 0) {
      fail(
        JwtIssuerErrorCode.TOKEN_MALFORMED,
        `the ${what} is not canonical base64url`,
      );
    }
  }
  return Buffer.from(segment, 'base64url');
}

/** The JSON object of one segment: canonical base64url, UTF-8, a JSON object; `TOKEN_MALFORMED` otherwise (internal). */
export function parseObject(
  segment: string,
  what: string,
): Record<string, unknown> {
  const bytes = decodeSegment(segment, what);
  // Replacement characters would let distinct bytes read as the same claims (RFC 7519: UTF-8).
  if (!isUtf8(bytes)) {
    fail(JwtIssuerErrorCode.TOKEN_MALFORMED, `the ${what} is not UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    if (e instanceof JwtIssuerError) throw e;
    fail(JwtIssuerErrorCode.TOKEN_MALFORMED, `the ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(
      JwtIssuerErrorCode.TOKEN_MALFORMED,
      `the ${what} is not a JSON object`,
    );
  }
  return value as Record<string, unknown>;
}

function parseHeader(segment: string): ParsedHeader {
  const header = parseObject(segment, 'header');
  for (const name of REFUSED_HEADERS) {
    if (name in header) {
      fail(
        JwtIssuerErrorCode.TOKEN_HEADER_REFUSED,
        `the header parameter '${name}' is refused`,
      );
    }
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string')
    fail(JwtIssuerErrorCode.TOKEN_HEADER_REFUSED, 'the header has no alg');
  if (alg === 'none' || alg.startsWith('HS')) {
    fail(
      JwtIssuerErrorCode.TOKEN_HEADER_REFUSED,
      `alg '${alg.slice(0, 16)}' is refused`,
    );
  }
  if (typeof kid !== 'string' || kid === '') {
    fail(JwtIssuerErrorCode.TOKEN_HEADER_REFUSED, 'the header has no kid');
  }
  return { alg, kid, typ };
}

function deepFreeze<T extends object>(value: T): T {
  // JSON.parse output: own enumerable properties only, no prototype tricks. Iterative: a signed payload may nest
  // deeper than the call stack.
  const stack: object[] = [value];
  for (let o = stack.pop(); o !== undefined; o = stack.pop()) {
    for (const name in o) {
      const v = (o as Record<string, unknown>)[name];
      if (typeof v === 'object' && v !== null) stack.push(v);
    }
    Object.freeze(o);
  }
  return value;
}

type VerifyKeyParam =
  | KeyObject
  | { key: KeyObject; dsaEncoding: 'ieee-p1363' }
  | { key: KeyObject; padding: number; saltLength: number };

/** Turns a public key into what `crypto.verify` wants for its algorithm (built once per key). */
function verifyParams(k: VerificationKey): [string | null, VerifyKeyParam] {
  switch (k.alg) {
    case 'RS256':
      return ['sha256', k.key];
    case 'RS384':
      return ['sha384', k.key];
    case 'RS512':
      return ['sha512', k.key];
    case 'PS256':
      // RFC 7518 3.5: MGF1 with the same hash, and a salt as long as the hash (refused otherwise).
      return [
        'sha256',
        {
          key: k.key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: 32,
        },
      ];
    case 'ES256':
    case 'ES384':
    case 'ES512':
      // JWS ECDSA signatures are r||s (IEEE P1363), not DER.
      return [
        k.alg === 'ES256' ? 'sha256' : k.alg === 'ES384' ? 'sha384' : 'sha512',
        { key: k.key, dsaEncoding: 'ieee-p1363' },
      ];
    case 'EdDSA':
      return [null, k.key];
  }
}

// The signing input is written into this reused buffer instead of a new one per token: `crypto.verify` is
// synchronous, and by then the token is known to be ASCII, so one latin1 byte per character is exact.
let signingInputScratch = Buffer.allocUnsafe(4096);

/** The bytes of `token.slice(0, end)`, in the reused scratch buffer (valid until the next call). */
function signingInputOf(token: string, end: number): Buffer {
  if (end > signingInputScratch.length) {
    signingInputScratch = Buffer.allocUnsafe(
      Math.max(end, 2 * signingInputScratch.length),
    );
  }
  signingInputScratch.write(token, 0, end, 'latin1');
  return signingInputScratch.subarray(0, end);
}

const paramsCache = new WeakMap<
  VerificationKey,
  ReturnType<typeof verifyParams>
>();

/**
 * Verifies compact JWS tokens against keys imported once, with raw `node:crypto`. Checks, in order: size (before
 * any parsing), one spelling per token (only `[A-Za-z0-9_-]` and exactly two dots, before any decoding; canonical
 * base64url, no padding), JSON object header and payload, refused header parameters
 * (`crit`, `jku`, `x5u`, `jwk`, `x5c`), the trusted issuer (`iss` selects the key source), the key (`kid`), that
 * `alg` equals the key's own algorithm, the signature, then `exp` (required), `nbf`, `iat`, `aud` and the required
 * claims. Verified tokens seen twice are kept in a bounded LRU cache (`lru-cache`; a hit needs the SHA-256 of the
 * exact verified string), never served past `exp` nor once their key is withdrawn; a hit costs the same after
 * millions of distinct tokens as in a fresh process, and a token met once costs no more than its verification.
 *
 * @example
 * const verifier = new JwtVerifier({ sources: [jwks], requiredClaims: { source: 'microservice' } });
 * const claims = await verifier.verify(token);
 */
export class JwtVerifier {
  private readonly sources = new Map<string, KeySource>();
  private readonly defaultRules: CompiledRules;
  private readonly rules = new Map<string, CompiledRules>();
  private readonly toleranceMs: number;
  private readonly maxTokenBytes: number;
  private readonly cache:
    VerifiedTokenCache<VerifiedClaims, VerificationKey> | undefined;
  private readonly headers = new Map<string, ParsedHeader>();
  private readonly counters = new Map<KeySource, IssuerCounters>();
  /** Each source's issuer as messages show it (a URL without its userinfo, query or fragment). */
  private readonly shownIssuers = new Map<KeySource, string>();
  private readonly untrusted: IssuerCounters;
  private readonly hits: CounterSeries;
  private readonly misses: CounterSeries;

  /** @param telemetry - where the verifications are counted (internal: the module passes its own). */
  constructor(options: JwtVerifierOptions, telemetry?: JwtIssuerTelemetry) {
    for (const s of options.sources) {
      this.sources.set(s.issuer, s);
      this.counters.set(s, new IssuerCounters(s.issuer, telemetry));
      this.shownIssuers.set(s, loggableIssuer(s.issuer));
    }
    this.untrusted = new IssuerCounters(UNTRUSTED_ISSUER, telemetry, false);
    const lookups = JWT_ISSUER_INSTRUMENTS.cacheLookups;
    this.hits = counterIn(telemetry, lookups, { [ATTR.cacheResult]: 'hit' });
    this.misses = counterIn(telemetry, lookups, { [ATTR.cacheResult]: 'miss' });
    this.defaultRules = compileRules(
      {},
      options.audience,
      options.requiredClaims,
    );
    for (const [issuer, r] of options.issuerRules ?? []) {
      this.rules.set(
        issuer,
        compileRules(r, options.audience, options.requiredClaims),
      );
    }
    this.toleranceMs = (options.clockTolerance ?? 5) * 1000;
    this.maxTokenBytes = options.maxTokenBytes ?? 8192;
    const cacheSize = options.cacheSize ?? 10_000;
    this.cache = cacheSize > 0 ? new VerifiedTokenCache(cacheSize) : undefined;
  }

  /**
   * Verifies a token, refreshing the issuer's keys once when its `kid` is unknown (as the source's cool-down allows).
   *
   * @throws {JwtIssuerError} `TOKEN_*` codes, or `JWKS_UNAVAILABLE` when an unknown key could not be looked up.
   */
  async verify(token: unknown): Promise<VerifiedClaims> {
    return this.verifyFast(token);
  }

  /**
   * Verifies synchronously when the key is known (the common case), else asynchronously after one refresh of the
   * issuer's keys (as the source's cool-down allows).
   *
   * @throws {JwtIssuerError} `TOKEN_*` codes, or `JWKS_UNAVAILABLE` when an unknown key could not be looked up.
   */
  verifyFast(token: unknown): VerifiedClaims | Promise<VerifiedClaims> {
    try {
      return this.check(token, true);
    } catch (e) {
      if (e instanceof KeyUnknownError && e.source.refresh !== undefined) {
        return this.afterRefresh(token, e.source);
      }
      throw e;
    }
  }

  /**
   * Verifies a token with the keys known right now (never waits for the network).
   *
   * @throws {JwtIssuerError} `TOKEN_*` codes.
   */
  verifySync(token: unknown): VerifiedClaims {
    return this.check(token, false);
  }

  private async afterRefresh(
    token: unknown,
    source: KeySource,
  ): Promise<VerifiedClaims> {
    try {
      await source.refresh!();
    } catch (e) {
      (this.counters.get(source) ?? this.untrusted).refuse(e);
      throw e;
    }
    return this.verifySync(token);
  }

  /**
   * The checks; counts the valid tokens, and each refusal for the issuer the token names (or as untrusted), except
   * an unknown key of a source that can refresh when `refreshable` (the caller refreshes and checks again).
   */
  private check(token: unknown, refreshable: boolean): VerifiedClaims {
    // Whom a refusal is counted for: as untrusted until the token's issuer is known, then that issuer.
    let counted = this.untrusted;
    try {
      if (typeof token !== 'string')
        fail(JwtIssuerErrorCode.TOKEN_MALFORMED, 'the token is not a string');
      // UTF-8 needs at least one byte per UTF-16 unit: this bound holds before looking at a single character.
      if (token.length > this.maxTokenBytes) {
        fail(
          JwtIssuerErrorCode.TOKEN_TOO_LARGE,
          `the token is longer than ${this.maxTokenBytes} bytes`,
        );
      }
      const now = Date.now();
      let lookupKey: number | undefined;
      if (this.cache !== undefined) {
        lookupKey = VerifiedTokenCache.lookupKeyOf(token);
        const hit = this.cache.get(token, lookupKey, now);
        if (hit !== undefined) {
          this.hits.value++;
          hit.counter.value++;
          return hit.claims;
        }
        this.misses.value++;
      }

      // Before any decoding. A cache hit above needs no such check: it requires the SHA-256 of the UTF-8 of the exact
      // string of a token that passed it (any character outside ASCII changes those bytes).
      if (!COMPACT_JWS.test(token)) {
        fail(
          JwtIssuerErrorCode.TOKEN_MALFORMED,
          'the token is not three base64url segments joined by dots',
        );
      }
      const dot1 = token.indexOf('.');
      const dot2 = token.indexOf('.', dot1 + 1);
      const headerSegment = token.slice(0, dot1);
      let header = this.headers.get(headerSegment);
      if (header === undefined) {
        header = parseHeader(headerSegment);
        if (this.headers.size >= HEADER_CACHE_SIZE) this.headers.clear();
        this.headers.set(headerSegment, header);
      }
      const payload = parseObject(token.slice(dot1 + 1, dot2), 'payload');
      const signature = decodeSegment(token.slice(dot2 + 1), 'signature');

      const iss = payload.iss;
      const source =
        typeof iss === 'string' ? this.sources.get(iss) : undefined;
      if (source === undefined) {
        fail(
          JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
          typeof iss === 'string'
            ? `the issuer '${loggableIssuer(iss, 200)}' is not trusted`
            : 'the token has no iss',
        );
      }
      const counters = this.counters.get(source)!;
      counted = counters;
      const key = source.get(header.kid);
      if (key === undefined) {
        throw new KeyUnknownError(
          source,
          `no key of issuer '${this.shownIssuers.get(source)}' has kid '${header.kid.slice(0, 100)}'`,
        );
      }
      const rules = this.rules.get(source.issuer) ?? this.defaultRules;
      if (
        rules.typ !== undefined &&
        header.typ !== undefined &&
        !(
          typeof header.typ === 'string' &&
          rules.typ.has(header.typ.toLowerCase())
        )
      ) {
        fail(
          JwtIssuerErrorCode.TOKEN_HEADER_REFUSED,
          `typ '${printableTyp(header.typ)}' is not accepted for this issuer (${[...rules.typ].join(', ')})`,
        );
      }
      if (header.alg !== key.alg) {
        fail(
          JwtIssuerErrorCode.TOKEN_HEADER_REFUSED,
          `alg '${header.alg.slice(0, 16)}' does not match the ${key.alg} key '${key.kid}'`,
        );
      }
      let params = paramsCache.get(key);
      if (params === undefined) {
        params = verifyParams(key);
        paramsCache.set(key, params);
      }
      if (
        !cryptoVerify(
          params[0],
          signingInputOf(token, dot2),
          params[1],
          signature,
        )
      ) {
        fail(
          JwtIssuerErrorCode.TOKEN_SIGNATURE_INVALID,
          `the signature does not verify with key '${key.kid}'`,
        );
      }

      const { exp, nbf, iat, aud } = payload;
      if (typeof exp !== 'number' || !Number.isFinite(exp)) {
        fail(
          JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
          'the token has no numeric exp',
        );
      }
      const expMs = exp * 1000;
      if (expMs <= now - this.toleranceMs)
        fail(JwtIssuerErrorCode.TOKEN_EXPIRED, 'the token has expired');
      if (nbf !== undefined) {
        if (typeof nbf !== 'number')
          fail(JwtIssuerErrorCode.TOKEN_CLAIM_INVALID, 'nbf is not a number');
        if (nbf * 1000 > now + this.toleranceMs) {
          fail(
            JwtIssuerErrorCode.TOKEN_NOT_YET_VALID,
            'the token is not valid yet (nbf)',
          );
        }
      }
      if (iat !== undefined) {
        if (typeof iat !== 'number')
          fail(JwtIssuerErrorCode.TOKEN_CLAIM_INVALID, 'iat is not a number');
        if (iat * 1000 > now + this.toleranceMs) {
          fail(
            JwtIssuerErrorCode.TOKEN_NOT_YET_VALID,
            'the token is issued in the future (iat)',
          );
        }
      }
      const audience = rules.audience;
      if (audience !== undefined) {
        const auds =
          typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
        if (!auds.some((a) => typeof a === 'string' && audience.has(a))) {
          fail(
            JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
            'the token is not meant for this audience (aud)',
          );
        }
      }
      for (const [name, value] of rules.required) {
        if (payload[name] !== value) {
          fail(
            JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
            `the claim '${name}' is not ${JSON.stringify(value)}`,
          );
        }
      }
      for (const name of rules.requiredStrings) {
        const v = payload[name];
        if (typeof v !== 'string' || v === '') {
          fail(
            JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
            `the token has no '${name}' (a non-empty string)`,
          );
        }
      }

      // Cached on its second sight (see VerifiedTokenCache). Cached claims are shared between callers: frozen.
      // Uncached ones belong to this caller alone.
      counters.valid.value++;
      if (lookupKey === undefined || !this.cache!.admit(lookupKey)) {
        return payload as VerifiedClaims;
      }
      const claims = deepFreeze(payload) as VerifiedClaims;
      this.cache!.set(
        token,
        lookupKey,
        { claims, expMs, key, counter: counters.valid },
        now,
      );
      return claims;
    } catch (e) {
      if (
        !refreshable ||
        !(e instanceof KeyUnknownError) ||
        e.source.refresh === undefined
      ) {
        counted.refuse(e);
      }
      throw e;
    }
  }

  /**
   * The key `issuer` has under `kid` now, as verifications find it: for a caller that keeps verified claims past one
   * call (a WebSocket admitted at its handshake), whose `active` turns false once the issuer withdraws the key.
   */
  keyOf(issuer: string, kid: string): VerificationKey | undefined {
    return this.sources.get(issuer)?.get(kid);
  }

  /** Number of tokens in the verified-token cache (for metrics and tests). */
  get cachedTokens(): number {
    return this.cache?.size ?? 0;
  }

  /** Empties the verified-token cache. */
  clearCache(): void {
    this.cache?.clear();
  }
}

function compileRules(
  rules: IssuerClaimRules,
  audience: readonly string[] | undefined,
  requiredClaims: JwtVerifierOptions['requiredClaims'],
): CompiledRules {
  const aud = rules.audience ?? audience;
  return {
    audience: aud ? new Set(aud) : undefined,
    required: Object.entries(rules.requiredClaims ?? requiredClaims ?? {}),
    requiredStrings: [...(rules.requiredStringClaims ?? [])],
    typ: rules.typ ? new Set(rules.typ.map((t) => t.toLowerCase())) : undefined,
  };
}

function printableTyp(typ: unknown): string {
  return typeof typ === 'string'
    ? typ.slice(0, 40).replace(/[^ -~]/g, '?')
    : `(${typeof typ})`;
}
