import { hash, type KeyObject, verify as cryptoVerify } from 'node:crypto';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';

/** Asymmetric JWS algorithms the verifier accepts (HMAC is never accepted: a public key is no secret). */
export type VerifyAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

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

/** Options of {@link JwtVerifier}. */
export interface JwtVerifierOptions {
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
  /** Entries of the LRU cache of verified tokens; 0 disables it. @default 10000 */
  cacheSize?: number;
}

/** The claims of a verified token (frozen). */
export type VerifiedClaims = Readonly<Record<string, unknown>> & {
  readonly iss: string;
  readonly exp: number;
};

interface CachedToken {
  claims: VerifiedClaims;
  expMs: number;
  key: VerificationKey;
}

interface ParsedHeader {
  alg: string;
  kid: string;
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
// Characters of the signature noted on a token's first verification (132 bits: unique, useless to anyone).
const TAIL = 22;
// Cache probes per window when watching for thrashing, and the share of hits below which probes are sampled.
const PROBE_WINDOW = 1024;
const THRASHING_HITS = PROBE_WINDOW / 16;
const SAMPLED_PROBE_EVERY = 8;

function fail(code: JwtIssuerErrorCode, message: string): never {
  throw new JwtIssuerError(code, message);
}

/**
 * Decodes one base64url segment strictly: alphabet only, no padding, canonical trailing bits. Node's decoder skips
 * characters outside its alphabet (which also has `+`, `/`, `=`): with those three excluded, any skipped character
 * shortens the output, so comparing the length is as strict as a regular expression, and cheaper.
 */
function decodeSegment(segment: string, what: string): Buffer {
  const length = segment.length;
  const rest = length & 3;
  const bytes = Buffer.from(segment, 'base64url');
  if (
    length === 0 ||
    rest === 1 ||
    bytes.length !== (length * 3) >>> 2 ||
    segment.includes('+') ||
    segment.includes('/') ||
    segment.includes('=')
  ) {
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
  return bytes;
}

function parseObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodeSegment(segment, what).toString('utf8'));
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
  const { alg, kid } = header;
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
  return { alg, kid };
}

function deepFreeze<T extends object>(value: T): T {
  // JSON.parse output: own enumerable properties only, no prototype tricks.
  for (const name in value) {
    const v = value[name];
    if (typeof v === 'object' && v !== null) deepFreeze(v);
  }
  return Object.freeze(value);
}

/** Turns a public key into what `crypto.verify` wants for its algorithm (built once per key). */
function verifyParams(
  k: VerificationKey,
): [string | null, KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' }] {
  switch (k.alg) {
    case 'RS256':
      return ['sha256', k.key];
    case 'ES256':
      // JWS ES256 signatures are r||s (IEEE P1363), not DER.
      return ['sha256', { key: k.key, dsaEncoding: 'ieee-p1363' }];
    case 'EdDSA':
      return [null, k.key];
  }
}

const paramsCache = new WeakMap<
  VerificationKey,
  ReturnType<typeof verifyParams>
>();

/**
 * Verifies compact JWS tokens against keys imported once, with raw `node:crypto`. Checks, in order: size (before
 * any parsing), three strict base64url segments, JSON object header and payload, refused header parameters
 * (`crit`, `jku`, `x5u`, `jwk`, `x5c`), the trusted issuer (`iss` selects the key source), the key (`kid`), that
 * `alg` equals the key's own algorithm, the signature, then `exp` (required), `nbf`, `iat`, `aud` and the required
 * claims. Tokens verified a second time are kept in a bounded LRU cache keyed by their SHA-256, never served past
 * `exp` (one-off tokens are not cached: they pay no hash and evict nothing; when repeated tokens outgrow the cache,
 * only a sample of them is probed, so thrashing costs no hash per call).
 *
 * @example
 * const verifier = new JwtVerifier({ sources: [jwks], requiredClaims: { source: 'microservice' } });
 * const claims = await verifier.verify(token);
 */
export class JwtVerifier {
  private readonly sources = new Map<string, KeySource>();
  private readonly audience: ReadonlySet<string> | undefined;
  private readonly required: [string, string | number | boolean][];
  private readonly toleranceMs: number;
  private readonly maxTokenBytes: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, CachedToken>();
  private readonly seen = new Set<string>();
  private readonly headers = new Map<string, ParsedHeader>();
  private probes = 0;
  private hits = 0;
  private probeEvery = 1;
  private skippedProbes = 0;

  constructor(options: JwtVerifierOptions) {
    for (const s of options.sources) this.sources.set(s.issuer, s);
    this.audience = options.audience ? new Set(options.audience) : undefined;
    this.required = Object.entries(options.requiredClaims ?? {});
    this.toleranceMs = (options.clockTolerance ?? 5) * 1000;
    this.maxTokenBytes = options.maxTokenBytes ?? 8192;
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  /**
   * Verifies a token, refreshing the issuer's keys once when its `kid` is unknown (as the source's cool-down allows).
   *
   * @throws {JwtIssuerError} `TOKEN_*` codes, or `JWKS_UNAVAILABLE` when an unknown key could not be looked up.
   */
  async verify(token: unknown): Promise<VerifiedClaims> {
    try {
      return this.verifySync(token);
    } catch (e) {
      const source = (e as { source?: KeySource }).source;
      if (!source?.refresh) throw e;
      await source.refresh();
      return this.verifySync(token);
    }
  }

  /**
   * Verifies a token with the keys known right now (never waits for the network).
   *
   * @throws {JwtIssuerError} `TOKEN_*` codes.
   */
  verifySync(token: unknown): VerifiedClaims {
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
    let cacheKey: string | undefined;
    // Admission: a token is cached from its second verification on. The first time, only the tail of its signature
    // is noted (a fragment no one can use), so one-off tokens pay neither the SHA-256 nor an eviction.
    const tail = this.cacheSize > 0 ? token.slice(-TAIL) : undefined;
    if (tail !== undefined && this.seen.delete(tail) && this.shouldProbe()) {
      this.seen.add(tail); // most recently seen last
      cacheKey = hash('sha256', token, 'base64');
      const hit = this.cache.get(cacheKey);
      if (hit !== undefined) {
        this.cache.delete(cacheKey);
        if (now < hit.expMs && hit.key.active) {
          this.cache.set(cacheKey, hit);
          this.hits++;
          return hit.claims;
        }
      }
    }

    const dot1 = token.indexOf('.');
    const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot1 <= 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) {
      fail(
        JwtIssuerErrorCode.TOKEN_MALFORMED,
        'the token does not have three segments',
      );
    }
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
    const source = typeof iss === 'string' ? this.sources.get(iss) : undefined;
    if (source === undefined) {
      fail(
        JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
        typeof iss === 'string'
          ? `the issuer '${iss.slice(0, 200)}' is not trusted`
          : 'the token has no iss',
      );
    }
    const key = source.get(header.kid);
    if (key === undefined) {
      const error = new JwtIssuerError(
        JwtIssuerErrorCode.TOKEN_KEY_UNKNOWN,
        `no key of issuer '${source.issuer}' has kid '${header.kid.slice(0, 100)}'`,
      );
      // Lets verify() ask this source for new keys once.
      Object.defineProperty(error, 'source', { value: source });
      throw error;
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
        Buffer.from(token.slice(0, dot2), 'latin1'),
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
    if (this.audience !== undefined) {
      const auds =
        typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
      if (!auds.some((a) => typeof a === 'string' && this.audience!.has(a))) {
        fail(
          JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
          'the token is not meant for this audience (aud)',
        );
      }
    }
    for (const [name, value] of this.required) {
      if (payload[name] !== value) {
        fail(
          JwtIssuerErrorCode.TOKEN_CLAIM_INVALID,
          `the claim '${name}' is not ${JSON.stringify(value)}`,
        );
      }
    }

    // Cached claims are shared between callers: frozen. Uncached ones belong to this caller alone.
    const claims = (
      cacheKey === undefined ? payload : deepFreeze(payload)
    ) as VerifiedClaims;
    if (cacheKey !== undefined) {
      if (this.cache.size >= this.cacheSize) {
        // Least recently used first: Map keeps insertion order and hits are re-inserted.
        this.cache.delete(this.cache.keys().next().value!);
      }
      this.cache.set(cacheKey, { claims, expMs, key });
    } else if (tail !== undefined) {
      // Twice the cache size, least recently seen out first: a cached token in use is always found.
      if (this.seen.size >= 2 * this.cacheSize) {
        this.seen.delete(this.seen.keys().next().value!);
      }
      this.seen.add(tail);
    }
    return claims;
  }

  /**
   * Whether to hash and look up a token seen before. When the working set of repeated tokens outgrows the cache
   * (fewer than 1 hit in 16 probes over a window), only one such token in 8 is probed and admitted, so thrashing
   * stops costing a hash and an eviction per call; the sampled probes bring the cache back when hits return.
   * A token not probed is simply verified in full.
   */
  private shouldProbe(): boolean {
    if (this.probeEvery > 1 && ++this.skippedProbes < this.probeEvery) {
      return false;
    }
    this.skippedProbes = 0;
    if (++this.probes >= PROBE_WINDOW) {
      this.probeEvery = this.hits < THRASHING_HITS ? SAMPLED_PROBE_EVERY : 1;
      this.probes = 0;
      this.hits = 0;
    }
    return true;
  }

  /** Number of tokens in the verified-token cache (for metrics and tests). */
  get cachedTokens(): number {
    return this.cache.size;
  }

  /** Empties the verified-token cache. */
  clearCache(): void {
    this.cache.clear();
    this.seen.clear();
    this.probes = this.hits = this.skippedProbes = 0;
    this.probeEvery = 1;
  }
}

// Lives with the other key checks; re-exported here, where it has always been.
export { importVerificationJwk } from './keys.js';
