/**
 * Where the replicas of one service share their key ring: a small map of text records per ring, in an engine every
 * replica reaches (Redis, a SQL table, etcd…). The library keeps its own state in memory and calls the store only
 * from a background loop (about once a second), never on a request path; a store that fails or is slow only delays
 * key changes.
 *
 * Records are opaque text the library writes and reads back; the private keys in them are encrypted
 * (AES-256-GCM) before they reach the store. An implementation needs three operations on a map of records per
 * ring, the middle one atomic.
 *
 * @example
 * // Your own Redis client (ioredis), with your connection options:
 * import Redis from 'ioredis';
 * JwtIssuerModule.forRoot({
 *   service: { name: 'orders', issuer, privateKey, rotationInterval: 86400,
 *     keyStore: new RedisServiceTokenKeyStore(new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, commandTimeout: 1000 })) },
 * });
 */
export interface ServiceTokenKeyStore {
  /** Every record of `ring` (field → value); `{}` when there is none. */
  getAll(ring: string): Promise<Record<string, string>>;
  /**
   * Writes a record only if `field` has none yet (atomically: of replicas writing the same field at once, exactly
   * one wins). Resolves to `true` when this call wrote it.
   */
  setIfAbsent(ring: string, field: string, value: string): Promise<boolean>;
  /** Removes records (absent fields are ignored). */
  delete(ring: string, fields: readonly string[]): Promise<void>;
}
