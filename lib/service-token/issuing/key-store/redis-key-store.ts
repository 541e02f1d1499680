import { JwtIssuerError, JwtIssuerErrorCode } from '../../../errors.js';
import type { ServiceTokenKeyStore } from './service-token-key-store.interface.js';

/** The few commands of a Redis client the store uses (an `ioredis` client has them). */
export interface RedisHashCommands {
  hgetall(key: string): Promise<Record<string, string>>;
  hsetnx(key: string, field: string, value: string): Promise<number>;
  hdel(key: string, ...fields: string[]): Promise<number>;
}

/** The package a `redis://` key store URL needs (an optional peer dependency). */
export const REDIS_CLIENT_PACKAGE = 'ioredis';

// A command gets this long before it counts as failed: the background sync then retries on its next tick.
const COMMAND_TIMEOUT_MS = 1000;

/**
 * A {@link ServiceTokenKeyStore} in Redis: one hash per ring (`HGETALL`, `HSETNX`, `HDEL`), so that of replicas
 * claiming the same rotation slot at once exactly one wins. Pass your own client (`ioredis`, or anything with
 * `hgetall`/`hsetnx`/`hdel` returning promises), or let the module build one from a `redis://`/`rediss://` URL
 * (`service.keyStore`). Give your client a command timeout and no offline queue, so a paused Redis fails fast.
 *
 * @example
 * new RedisServiceTokenKeyStore(new Redis(url, { enableOfflineQueue: false, commandTimeout: 1000 }));
 */
export class RedisServiceTokenKeyStore implements ServiceTokenKeyStore {
  constructor(
    private readonly client: RedisHashCommands,
    private readonly onClose?: () => void,
  ) {}

  /**
   * A store with its own `ioredis` client for `url` (`redis://` or `rediss://`): no offline queue, a 1 s command
   * timeout, reconnection with back-off. `ioredis` is loaded now (so a missing package fails at start-up); the
   * client connects on first use.
   *
   * @throws {JwtIssuerError} `CONFIG_INVALID` when `ioredis` is not installed.
   */
  static async fromUrl(url: string): Promise<RedisServiceTokenKeyStore> {
    let Redis: RedisConstructor;
    try {
      ({ Redis } = (await import(REDIS_CLIENT_PACKAGE)) as {
        Redis: RedisConstructor;
      });
    } catch (cause) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.CONFIG_INVALID,
        `a redis:// key store needs the '${REDIS_CLIENT_PACKAGE}' package (an optional peer dependency): npm install ${REDIS_CLIENT_PACKAGE}`,
        { cause },
      );
    }
    let client: RedisClient | undefined;
    const connected = (): RedisClient => {
      if (client) return client;
      client = new Redis(url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: COMMAND_TIMEOUT_MS,
        connectTimeout: 2000,
        retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
      });
      // Failures surface through the commands (the key ring logs them once); without a listener ioredis prints each.
      client.on('error', () => undefined);
      return client;
    };
    return new RedisServiceTokenKeyStore(
      {
        hgetall: async (key) => {
          const c = connected();
          await ready(c);
          return c.hgetall(key);
        },
        hsetnx: (key, field, value) => connected().hsetnx(key, field, value),
        hdel: (key, ...fields) => connected().hdel(key, ...fields),
      },
      () => client?.disconnect(),
    );
  }

  getAll(ring: string): Promise<Record<string, string>> {
    return this.client.hgetall(ring);
  }

  async setIfAbsent(
    ring: string,
    field: string,
    value: string,
  ): Promise<boolean> {
    return (await this.client.hsetnx(ring, field, value)) === 1;
  }

  async delete(ring: string, fields: readonly string[]): Promise<void> {
    if (fields.length > 0) await this.client.hdel(ring, ...fields);
  }

  /** Disconnects the client this store created from a URL (a client you passed stays yours to close). */
  close(): void {
    this.onClose?.();
  }
}

interface RedisClient extends RedisHashCommands {
  status: string;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  disconnect(): void;
}
type RedisConstructor = new (
  url: string,
  options: Record<string, unknown>,
) => RedisClient;

/** Waits (at most one command timeout) for a connection being (re)established, so the first read does not fail. */
function ready(client: RedisClient): Promise<void> {
  if (client.status === 'ready' || client.status === 'end') {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, COMMAND_TIMEOUT_MS);
    client.once('ready', done);
  });
}
