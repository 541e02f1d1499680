import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
  vi,
} from 'vitest';
import { ConfigProblems } from '../../lib/config/config-problems.js';
import { envVarLookup } from '../../lib/config/env.js';
import { SERVICE_TOKEN_ENV_VARS } from '../../lib/service-token/service-token.env.js';
import {
  JwtIssuerErrorCode,
  RedisServiceTokenKeyStore,
  type ServiceTokenKeyStore,
  type ServiceTokenOptions,
  ServiceTokenService,
} from '../../lib/index.js';
import { normalizeServiceTokenOptions } from '../../lib/service-token/service-token.options.js';
import { headerOf } from '../support/forge.js';
import { freePort } from '../support/broker-process.js';
import {
  type RunningRedisServer,
  startRedisServer,
} from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ecPem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();

class Lines extends Logger {
  readonly lines: string[] = [];
  override log(m: unknown) {
    this.lines.push(String(m));
  }
  override warn(m: unknown) {
    this.lines.push(String(m));
  }
  override error(m: unknown) {
    this.lines.push(String(m));
  }
}

async function resolve(
  options: ServiceTokenOptions,
  production = false,
): Promise<{ problems: ConfigProblems; service?: ServiceTokenService }> {
  const problems = new ConfigProblems(envVarLookup(SERVICE_TOKEN_ENV_VARS));
  const resolved = await normalizeServiceTokenOptions(options, problems, {
    production,
    logger: new Lines(),
  });
  return {
    problems,
    service:
      problems.list.length === 0 && resolved
        ? new ServiceTokenService(resolved.signing!)
        : undefined,
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const kid = async (s: ServiceTokenService) =>
  headerOf(await s.getToken()).kid as string;

/** A store that counts the calls reaching it (around the real Redis one). */
function counting(inner: ServiceTokenKeyStore) {
  const calls = { n: 0 };
  const store: ServiceTokenKeyStore = {
    getAll: (r) => (calls.n++, inner.getAll(r)),
    setIfAbsent: (r, f, v) => (calls.n++, inner.setIfAbsent(r, f, v)),
    delete: (r, f) => (calls.n++, inner.delete(r, f)),
  };
  return { store, calls };
}

describe('service.keyStore', () => {
  let redis: RunningRedisServer;
  let client: Redis;
  const services: ServiceTokenService[] = [];
  const track = (s: ServiceTokenService | undefined) => {
    expect(s).toBeDefined();
    services.push(s!);
    return s!;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
  });
  afterEach(async () => {
    for (const s of services.splice(0)) s.onModuleDestroy();
    await client.flushall();
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('refuses a rotationInterval shorter than the publication lead verifiers need, with the reason', async () => {
    const memory = await resolve({
      name: 'o',
      issuer: 'https://o.test',
      rotationInterval: 20,
    });
    expect(memory.problems.list).toEqual([
      expect.objectContaining({
        path: 'service.rotationInterval',
        env: 'JWT_ISSUER_SERVICE_ROTATION_INTERVAL',
        message: expect.stringMatching(
          /20 s is shorter than the publication lead verifiers need \(30 s: one JWKS cool-down, service\.jwksCooldown = 30 s\)/,
        ) as string,
      }),
    ]);
    const shared = await resolve({
      name: 'o',
      issuer: 'https://o.test',
      rotationInterval: 2,
      jwksCooldown: 1,
      keyStore: redis.url,
    });
    expect(shared.problems.list[0]?.message).toMatch(
      /2 s is shorter .* \(3 s: .*plus 2 × the 1 s key store sync\)/,
    );
    const fine = await resolve({
      name: 'o',
      issuer: 'https://o.test',
      rotationInterval: 3,
      jwksCooldown: 1,
      keyStore: redis.url,
    });
    expect(fine.problems.list).toEqual([]);
    track(fine.service).onModuleDestroy();
  });

  it('refuses other keyStore values without echoing them', async () => {
    const { problems } = await resolve({
      name: 'o',
      issuer: 'https://o.test',
      keyStore: 'postgres://user:hunter2@db/keys',
    });
    expect(problems.list).toHaveLength(1);
    expect(problems.list[0].path).toBe('service.keyStore');
    expect(problems.list[0].message).toMatch(/must be 'memory', a redis:\/\//);
    expect(JSON.stringify(problems.list)).not.toContain('hunter2');
  });

  it('a redis:// URL without ioredis installed is a start-up error naming the package', async () => {
    // As in a project that did not install the optional peer: importing it fails.
    vi.doMock('ioredis', () => {
      throw new Error("Cannot find package 'ioredis'");
    });
    try {
      const { problems } = await resolve({
        name: 'o',
        issuer: 'https://o.test',
        keyStore: 'redis://:hunter2@127.0.0.1:1',
      });
      expect(problems.list).toEqual([
        {
          path: 'service.keyStore',
          env: 'JWT_ISSUER_SERVICE_KEY_STORE',
          message:
            "a redis:// key store needs the 'ioredis' package (an optional peer dependency): npm install ioredis",
        },
      ]);
    } finally {
      vi.doUnmock('ioredis');
    }
  });

  it('replicas claim one key per slot even when all start at once; they serve the same JWKS and sign with the same key', async () => {
    const privateKey = ecPem();
    const options: ServiceTokenOptions = {
      name: 'orders',
      issuer: 'https://orders.test',
      algorithm: 'ES256',
      privateKey,
      rotationInterval: 4,
      jwksCooldown: 0.5,
      tokenValidity: 10,
      keyStore: redis.url,
    };
    const fleet = (
      await Promise.all([1, 2, 3, 4, 5].map(() => resolve(options, true)))
    ).map((r) => track(r.service));
    await Promise.all(fleet.map((s) => s.onModuleInit()));
    await until('every replica to sign with a dynamic key', () =>
      fleet.every((s) => s.getJwks().keys.length >= 3),
    );
    const deadline = Date.now() + 15_000;
    let kids: string[] = [];
    while (Date.now() < deadline) {
      kids = await Promise.all(fleet.map(kid));
      if (kids.every((k) => k.startsWith('d-'))) break;
      await sleep(100);
    }
    expect(new Set(kids).size).toBe(1);
    expect(kids[0]).toMatch(/^d-\d+$/);
    // One key per slot in the store, whatever the number of replicas.
    const fields = Object.keys(
      await client.hgetall((await client.keys('*'))[0]),
    );
    expect(fields.length).toBeLessThanOrEqual(3);
    const jwks = fleet.map((s) => JSON.stringify(s.getJwks()));
    expect(new Set(jwks).size).toBe(1);
  });

  it('private keys reach Redis sealed (AES-256-GCM); a replica with another privateKey cannot open them and says so', async () => {
    const base: ServiceTokenOptions = {
      name: 'orders',
      issuer: 'https://orders.test',
      algorithm: 'ES256',
      rotationInterval: 4,
      jwksCooldown: 0.5,
      keyStore: redis.url,
    };
    const a = track((await resolve({ ...base, privateKey: ecPem() })).service);
    await a.onModuleInit();
    await until('a dynamic key in Redis', () => a.getJwks().keys.length >= 2);
    const [ring] = await client.keys('*');
    const records = await client.hgetall(ring);
    const text = JSON.stringify(records);
    expect(text).not.toMatch(/PRIVATE KEY|"d":|"kty"/);
    for (const value of Object.values(records)) {
      expect(Object.keys(JSON.parse(value) as object).toSorted()).toEqual([
        'created',
        'data',
        'iv',
        'kid',
        'tag',
        'v',
      ]);
    }
    const b = track((await resolve({ ...base, privateKey: ecPem() })).service);
    const logs: string[] = [];
    const spy = Logger.prototype.error;
    Logger.prototype.error = function (m: unknown) {
      logs.push(String(m));
    };
    try {
      await b.onModuleInit();
    } finally {
      Logger.prototype.error = spy;
    }
    expect(logs.join('\n')).toMatch(
      /cannot be opened .*every replica must share service\.privateKey/,
    );
    expect(b.getJwks().keys.map((k) => k.kid)).toEqual([
      b.getJwks().keys[0].kid,
    ]);
  });

  it('getToken(), createJwt() and getJwks() make no store round-trip (the store is read by a 1 s background loop)', async () => {
    const { store, calls } = counting(
      await RedisServiceTokenKeyStore.fromUrl(redis.url),
    );
    const s = track(
      (
        await resolve({
          name: 'orders',
          issuer: 'https://orders.test',
          algorithm: 'ES256',
          privateKey: ecPem(),
          rotationInterval: 4,
          jwksCooldown: 0.5,
          keyStore: store,
        })
      ).service,
    );
    await s.onModuleInit();
    const before = calls.n;
    const started = Date.now();
    for (let i = 0; i < 2000; i++) {
      await s.getToken();
      await s.createJwt({ source: 'microservice', i });
      s.getJwks();
    }
    const elapsedS = (Date.now() - started) / 1000;
    // At most the background rounds that ran meanwhile (a few calls each), never one per request.
    expect(calls.n - before).toBeLessThanOrEqual(4 * (Math.ceil(elapsedS) + 1));
  });

  it('outside production without privateKey, replicas share one development key through the store', async () => {
    const options: ServiceTokenOptions = {
      name: 'dev',
      issuer: 'https://dev.test',
      algorithm: 'ES256',
      keyStore: redis.url,
    };
    const [a, b] = (
      await Promise.all([resolve(options), resolve(options)])
    ).map((r) => track(r.service));
    await Promise.all([a.onModuleInit(), b.onModuleInit()]);
    expect(a.getJwks()).toEqual(b.getJwks());
    expect(headerOf(await a.getToken()).kid).toBe(
      headerOf(await b.getToken()).kid,
    );
    expect(a.getJwks().keys).toHaveLength(1);
  });

  it('start-up with Redis unreachable: with a privateKey it starts on the static key and catches up when Redis comes; without one it refuses to start', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const dev = track(
      (
        await resolve({
          name: 'dev',
          issuer: 'https://dev.test',
          algorithm: 'ES256',
          keyStore: url,
        })
      ).service,
    );
    await expect(dev.onModuleInit()).rejects.toMatchObject({
      code: JwtIssuerErrorCode.KEY_STORE_UNAVAILABLE,
    });

    const s = track(
      (
        await resolve(
          {
            name: 'orders',
            issuer: 'https://orders.test',
            algorithm: 'ES256',
            privateKey: ecPem(),
            rotationInterval: 4,
            jwksCooldown: 0.5,
            keyStore: url,
          },
          true,
        )
      ).service,
    );
    await s.onModuleInit();
    expect(headerOf(await s.getToken()).kid).toMatch(/^s-/);
    expect(s.getJwks().keys).toHaveLength(1);

    const late = await startRedisServer(port);
    try {
      await until(
        'the replica to catch up',
        () => s.getJwks().keys.length >= 2,
      );
      const deadline = Date.now() + 15_000;
      while (
        !(headerOf(await s.getToken()).kid as string).startsWith('d-') &&
        Date.now() < deadline
      ) {
        await sleep(100);
      }
      expect(headerOf(await s.getToken()).kid).toMatch(/^d-/);
    } finally {
      s.onModuleDestroy();
      await late.stop();
    }
  }, 60_000);
});
