import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** What the verifier keeps of a verified token: its frozen claims, its `exp` and the key that verified it. */
export interface VerifiedToken<Claims, Key extends { active: boolean }> {
  readonly claims: Claims;
  /** `exp` in milliseconds since the epoch. */
  readonly expMs: number;
  readonly key: Key;
  /** Counts the verifications of this token's issuer (a hit counts as one). */
  readonly counter: { value: number };
}

interface Entry<Claims, Key extends { active: boolean }> {
  /** SHA-256 (base64) of the whole token: a lookup is a hit only when the presented token has this digest. */
  readonly digest: string;
  readonly token: VerifiedToken<Claims, Key>;
}

// Value of each base64url character; anything else reads as 0 (an index only: a hit also needs the digest).
const B64URL = new Uint8Array(128);
for (let i = 0; i < 64; i++) {
  B64URL[
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(
      i,
    )
  ] = i;
}

/**
 * The verified-token cache of {@link JwtVerifier}: an `lru-cache` bounded to `max` entries, each living no longer
 * than its token's `exp`, with a second-sight admission filter in front of it.
 *
 * - Lookup: an entry is found by 48 bits of the token's signature (its first 8 characters: a value only the
 *   issuer's private key produces, distinct for distinct genuine tokens but for a 2^-48 chance) and is a hit only
 *   when the SHA-256 of the whole presented token equals the digest stored with it, so nothing but the exact
 *   verified string is ever served. A token met for the first time costs no SHA-256 (no entry has its signature);
 *   a forged token that reuses a cached signature pays one SHA-256, misses, and leaves the genuine entry in place.
 *   Neither the token nor a slice of it is kept (a number and a digest are).
 * - Admission: a verified token is cached on its second sight, not its first. A first sight only records the token's
 *   48-bit key in a `Set` that is emptied once it holds 4 × `max` keys. Tokens met once then cost neither an
 *   insertion with eviction nor retained garbage, and a burst of them cannot flush the working set out of the LRU.
 *   A token that comes back within 2 × `max` other first sights is cached by its third sight at the latest (at most
 *   one emptying falls between two such sights), whatever else goes through.
 *
 * A hit moves the entry within `lru-cache`'s index arrays (no `Map` delete and re-insert), so it costs the same after
 * a million distinct tokens as in a fresh process.
 *
 * @internal
 */
export class VerifiedTokenCache<Claims, Key extends { active: boolean }> {
  private readonly lru: LRUCache<number, Entry<Claims, Key>>;
  private readonly seenOnce = new Set<number>();
  private readonly seenLimit: number;

  /** @param max entries (> 0). */
  constructor(max: number) {
    // perf: Date, so that lru-cache's TTL runs on the clock `exp` is read against; read on each check (no timer).
    this.lru = new LRUCache({ max, perf: Date, ttlResolution: 0 });
    this.seenLimit = 4 * max;
  }

  /**
   * The cache's lookup key of a token: 48 bits read from the first 8 characters of its signature segment. Only an
   * index: a hit also needs the SHA-256 of the whole token to match.
   */
  static lookupKeyOf(token: string): number {
    const at = token.lastIndexOf('.') + 1;
    let key = 0;
    for (let i = at; i < at + 8; i++) {
      key = key * 64 + B64URL[token.charCodeAt(i) & 127];
    }
    return key;
  }

  /** The entry for this token if it was verified and is still usable at `nowMs` (before `exp`, key not withdrawn). */
  get(
    token: string,
    lookupKey: number,
    nowMs: number,
  ): VerifiedToken<Claims, Key> | undefined {
    const entry = this.lru.get(lookupKey);
    if (entry === undefined || entry.digest !== digestOf(token)) {
      return undefined;
    }
    const hit = entry.token;
    if (nowMs < hit.expMs && hit.key.active) return hit;
    this.lru.delete(lookupKey);
    return undefined;
  }

  /**
   * Whether a token just verified (and not found by {@link get}) should be cached now: true on its second sight.
   * A first sight is recorded and answers false.
   */
  admit(lookupKey: number): boolean {
    if (this.seenOnce.delete(lookupKey)) return true;
    if (this.seenOnce.size >= this.seenLimit) this.seenOnce.clear();
    this.seenOnce.add(lookupKey);
    return false;
  }

  /** Keeps a verified token until its `exp` (or until evicted, least recently used first). */
  set(
    token: string,
    lookupKey: number,
    verified: VerifiedToken<Claims, Key>,
    nowMs: number,
  ): void {
    const ttl = verified.expMs - nowMs;
    if (ttl > 0) {
      this.lru.set(
        lookupKey,
        { digest: digestOf(token), token: verified },
        { ttl: Math.ceil(ttl) },
      );
    }
  }

  /** Number of entries (expired ones included until they are met or evicted). */
  get size(): number {
    return this.lru.size;
  }

  /** Drops every entry and every recorded first sight. */
  clear(): void {
    this.lru.clear();
    this.seenOnce.clear();
  }
}

/**
 * SHA-256 of the token's UTF-8 bytes. Only tokens made of ASCII are ever cached, and for those distinct strings
 * have distinct bytes; any character outside ASCII changes them.
 */
function digestOf(token: string): string {
  return hash('sha256', token, 'base64');
}
