import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** What the verifier keeps of a verified token: its frozen claims, its `exp` and the key that verified it. */
export interface VerifiedToken<Claims, Key extends { active: boolean }> {
  readonly claims: Claims;
  /** `exp` in milliseconds since the epoch. */
  readonly expMs: number;
  readonly key: Key;
}

/**
 * The verified-token cache of {@link JwtVerifier}: an `lru-cache` bounded to `max` entries, keyed by the SHA-256 of
 * the token (never the token itself), each entry living no longer than its token's `exp`.
 *
 * A hit moves the entry within `lru-cache`'s index arrays (no `Map` delete and re-insert, a pattern on which V8
 * slows down once a map has churned through many keys), so a hit costs the same after a million distinct tokens as
 * in a fresh process. Every verified token is admitted (no admission machinery): a miss pays the SHA-256, the
 * insertion with its eviction and the garbage of retained entries, a few µs (noticeable beside RS256 only).
 *
 * @internal
 */
export class VerifiedTokenCache<Claims, Key extends { active: boolean }> {
  private readonly lru: LRUCache<string, VerifiedToken<Claims, Key>>;

  /** @param max entries (> 0). */
  constructor(max: number) {
    // perf: Date, so that lru-cache's TTL runs on the clock `exp` is read against; read on each check (no timer).
    this.lru = new LRUCache({ max, perf: Date, ttlResolution: 0 });
  }

  /**
   * The cache key of a token: SHA-256 of its UTF-8 bytes. Only tokens made of ASCII are ever cached, and for those
   * distinct strings have distinct bytes.
   */
  static idOf(token: string): string {
    return hash('sha256', token, 'base64');
  }

  /** The entry for this id if it is still usable at `nowMs` (before its `exp`, its key not withdrawn). */
  get(id: string, nowMs: number): VerifiedToken<Claims, Key> | undefined {
    const hit = this.lru.get(id);
    if (hit === undefined) return undefined;
    if (nowMs < hit.expMs && hit.key.active) return hit;
    this.lru.delete(id);
    return undefined;
  }

  /** Keeps a verified token until its `exp` (or until evicted, least recently used first). */
  set(id: string, entry: VerifiedToken<Claims, Key>, nowMs: number): void {
    const ttl = entry.expMs - nowMs;
    if (ttl > 0) this.lru.set(id, entry, { ttl: Math.ceil(ttl) });
  }

  /** Number of entries (expired ones included until they are met or evicted). */
  get size(): number {
    return this.lru.size;
  }

  /** Drops every entry. */
  clear(): void {
    this.lru.clear();
  }
}
