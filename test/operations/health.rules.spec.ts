import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { createAccount, createOperator, encodeAccount } from '@nats-io/jwt';
import { HealthIndicatorService } from '@nestjs/terminus';
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
import { JwtIssuerTelemetry } from '../../lib/common/telemetry.js';
import { indicatorResult } from '../../lib/health/jwt-issuer-health.indicator.js';
import {
  JwtIssuerHealthIndicator,
  type JwtIssuerHealthReport,
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
  RedisServiceTokenKeyStore,
  ServiceTokenService,
  ServiceTokenVerifier,
} from '../../lib/index.js';
import { freePort } from '../support/broker-process.js';
import { type HostileJwks, startHostileJwks } from '../support/hostile-jwks.js';
import {
  type RunningRedisServer,
  startRedisServer,
} from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
type Part = Record<string, unknown> & { status: string };

/** A compiled module (providers built; `init` runs the lifecycle hooks, as an application's start does). */
async function compile(
  options: JwtIssuerModuleOptions,
): Promise<TestingModule> {
  @Module({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, ...options })],
  })
  class AppModule {}
  return Test.createTestingModule({ imports: [AppModule as Type] }).compile();
}

const report = (m: TestingModule): JwtIssuerHealthReport =>
  m.get(JwtIssuerHealthIndicator).report();
const service = (r: JwtIssuerHealthReport) => r.service as Part;
const issuer = (r: JwtIssuerHealthReport) =>
  (service(r).trustedIssuers as Part[])[0];
/** A public ES256 JWK of a fresh key. */
const jwkOf = (kid: string) => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    format: 'jwk',
  }),
  kid,
  alg: 'ES256',
});
const pem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();

describe('health rules (one test per rule on the operations page)', () => {
  const modules: TestingModule[] = [];
  let jwks: HostileJwks;
  let redis: RunningRedisServer;
  beforeAll(async () => {
    jwks = await startHostileJwks();
    redis = await startRedisServer();
  });
  afterEach(() => {
    vi.useRealTimers();
    redis.resume();
  });
  afterAll(async () => {
    for (const m of modules) await m.close();
    await jwks?.close();
    await redis?.stop();
  });
  const started = async (options: JwtIssuerModuleOptions) => {
    const m = await compile(options);
    modules.push(m);
    await m.init();
    return m;
  };

  it('the report has one part per configured capability; its status is the worst part', async () => {
    const m = await started({
      service: { name: 'a', issuer: 'https://a.internal' },
      seald: { secretId: 'sid', secret: 'x'.repeat(32) },
    });
    const r = report(m);
    expect(Object.keys(r).toSorted()).toEqual(['seald', 'service', 'status']);
    expect(r.status).toBe('up');
    expect(r.seald).toEqual({
      status: 'up',
      signingKey: { status: 'up', algorithm: 'HS256' },
    });
  });

  it('trusted issuer, not fetched yet: up (keys 0, no fetch yet); the probe starts the first fetch', async () => {
    jwks.set('/never', { kind: 'hang' });
    const m = await started({
      service: {
        trustedIssuers: [
          {
            issuer: 'https://n.test',
            jwksUri: jwks.url('/never'),
            allowHttp: true,
          },
        ],
      },
    });
    expect(issuer(report(m))).toMatchObject({
      status: 'up',
      keys: 0,
      lastFetchAt: null,
      consecutiveFailures: 0,
    });
    await sleep(100);
    expect(jwks.hits('/never')).toBe(1);
  });

  it('trusted issuer whose JWKS answers but never listed a usable key: down (no token of it can be verified)', async () => {
    jwks.set('/empty', { kind: 'keys', keys: [] });
    const m = await started({
      service: {
        trustedIssuers: [
          {
            issuer: 'https://e.test',
            jwksUri: jwks.url('/empty'),
            allowHttp: true,
          },
        ],
      },
    });
    report(m); // starts the fetch
    await vi.waitFor(() =>
      expect(issuer(report(m)).lastFetchAt).not.toBeNull(),
    );
    expect(issuer(report(m))).toMatchObject({
      status: 'down',
      keys: 0,
      consecutiveFailures: 0,
    });
    expect(report(m).status).toBe('down');
  });

  it('trusted issuer whose JWKS withdrew every key: degraded from the fetch that finds them gone, down when its grace period is over', async () => {
    jwks.set('/withdrawn', { kind: 'keys', keys: [jwkOf('w-1')] });
    const m = await started({
      service: {
        jwksCooldown: 0,
        jwksCacheMaxAge: 600,
        jwksKeyGracePeriod: 1,
        trustedIssuers: [
          {
            issuer: 'https://w.test',
            jwksUri: jwks.url('/withdrawn'),
            allowHttp: true,
          },
        ],
      },
    });
    const source = m.get(ServiceTokenVerifier).remoteSources[0];
    await source.refresh();
    expect(issuer(report(m))).toMatchObject({
      status: 'up',
      keys: 1,
      keysInGracePeriod: 0,
    });
    jwks.set('/withdrawn', { kind: 'keys', keys: [] });
    await source.refresh();
    expect(issuer(report(m))).toMatchObject({
      status: 'degraded',
      keys: 1,
      keysInGracePeriod: 1,
    });
    expect(report(m).status).toBe('degraded');
    await sleep(1100);
    expect(issuer(report(m))).toMatchObject({
      status: 'down',
      keys: 0,
      keysInGracePeriod: 0,
      consecutiveFailures: 0,
    });
    expect(report(m).status).toBe('down');
  });

  it('trusted issuer that withdrew one key of several: up (a rotation), the missing key in its grace period', async () => {
    const [a, b] = [jwkOf('r-1'), jwkOf('r-2')];
    jwks.set('/rotated', { kind: 'keys', keys: [a, b] });
    const m = await started({
      service: {
        jwksCooldown: 0,
        trustedIssuers: [
          {
            issuer: 'https://r.test',
            jwksUri: jwks.url('/rotated'),
            allowHttp: true,
          },
        ],
      },
    });
    const source = m.get(ServiceTokenVerifier).remoteSources[0];
    await source.refresh();
    jwks.set('/rotated', { kind: 'keys', keys: [b] });
    await source.refresh();
    expect(issuer(report(m))).toMatchObject({
      status: 'up',
      keys: 2,
      keysInGracePeriod: 1,
    });
  });

  it('signing: down when the service cannot sign (a replica whose shared development key could not be read)', async () => {
    const m = await compile({
      service: {
        name: 'a',
        issuer: 'https://a.internal',
        keyStore: `redis://127.0.0.1:${await freePort()}`, // nothing listens there
      },
    });
    modules.push(m);
    await expect(m.get(ServiceTokenService).onModuleInit()).rejects.toThrow(
      /key store could not be read/,
    );
    const r = report(m);
    expect(service(r).signing).toMatchObject({
      status: 'down',
      kid: null,
      developmentKey: true,
    });
    expect(r.status).toBe('down');
  });

  it('rotation (in-process keys): degraded once a rotation is more than 60 s overdue', async () => {
    const m = await started({
      service: {
        name: 'a',
        issuer: 'https://a.internal',
        rotationInterval: 120,
      },
    });
    expect(service(report(m)).rotation).toMatchObject({
      status: 'up',
      onSchedule: true,
      intervalSeconds: 120,
    });
    const kid = (service(report(m)).signing as Part).kid;
    await m.get(ServiceTokenService).rotateKeys();
    expect((service(report(m)).signing as Part).kid).not.toBe(kid);
    expect(
      m.get(JwtIssuerTelemetry).snapshot()[
        'nest_jwt_issuer.service.key_rotations'
      ],
    ).toEqual([
      { attributes: { 'nest_jwt_issuer.outcome': 'success' }, value: 1 },
      { attributes: { 'nest_jwt_issuer.outcome': 'failure' }, value: 0 },
    ]);
    // The clock moves on and the rotation timer never ran (a blocked event loop, a suspended VM).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 181_000 });
    expect(service(report(m)).rotation).toMatchObject({
      status: 'degraded',
      onSchedule: false,
    });
    expect(report(m).status).toBe('degraded');
  });

  it('rotation (shared key store): degraded when it still signs with the static key one interval, the publication lead and 60 s after start', async () => {
    const m = await started({
      service: {
        name: 'shared-rotation',
        issuer: 'https://a.internal',
        privateKey: pem(),
        algorithm: 'ES256',
        rotationInterval: 10,
        jwksCooldown: 1,
        keyStore: redis.url,
      },
    });
    expect(service(report(m)).rotation).toMatchObject({ onSchedule: true });
    // An hour later, with the store paused, no shared key covers the slot: the static key bridges, for too long.
    redis.pause();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    const r = report(m);
    expect(service(r).signing).toMatchObject({
      status: 'up',
      signingWith: 'static',
    });
    expect(service(r).rotation).toMatchObject({
      status: 'degraded',
      onSchedule: false,
    });
  });

  it('key store: degraded when its last successful sync is older than 5 s, even with no failure (a store that hangs)', async () => {
    // A client of your own without a command timeout: a paused Redis never answers, no call fails.
    const client = new Redis(redis.url, { enableOfflineQueue: false });
    await new Promise((resolve) => client.once('ready', resolve));
    try {
      const m = await started({
        service: {
          name: 'hanging-store',
          issuer: 'https://a.internal',
          privateKey: pem(),
          algorithm: 'ES256',
          keyStore: new RedisServiceTokenKeyStore(client),
        },
      });
      await vi.waitFor(() =>
        expect(service(report(m)).keyStore).toMatchObject({ status: 'up' }),
      );
      redis.pause();
      await sleep(3000);
      expect(service(report(m)).keyStore).toMatchObject({ status: 'up' });
      await sleep(3500);
      const store = service(report(m)).keyStore as Part;
      expect(store).toMatchObject({
        status: 'degraded',
        consecutiveFailures: 0,
      });
      expect(store.lastSyncAgeSeconds).toBeGreaterThan(5);
      expect(report(m).status).toBe('degraded');
      redis.resume();
      await vi.waitFor(
        () =>
          expect(service(report(m)).keyStore).toMatchObject({ status: 'up' }),
        { timeout: 5000 },
      );
    } finally {
      client.disconnect();
    }
  }, 20_000);

  it('NATS: degraded within 7 days of the account JWT expiry, down once it has expired', async () => {
    const operator = createOperator();
    const account = createAccount();
    const signer = createAccount();
    const exp = Math.floor(Date.now() / 1000) + 3;
    const accountJwt = await encodeAccount(
      'EXPIRING',
      account,
      { signing_keys: [signer.getPublicKey()] },
      { signer: operator, exp },
    );
    const m = await started({
      nats: {
        accountId: account.getPublicKey(),
        signingKey: text(signer.getSeed()),
        accountJwt,
      },
    });
    const nats = () => report(m).nats as Part;
    expect(nats()).toMatchObject({
      status: 'degraded',
      signingKey: { status: 'up', publicKey: signer.getPublicKey() },
      accountJwt: {
        status: 'degraded',
        expiresAt: new Date(exp * 1000).toISOString(),
      },
    });
    await sleep(exp * 1000 - Date.now() + 100);
    expect(nats()).toMatchObject({
      status: 'down',
      accountJwt: { status: 'down', expiresInSeconds: 0 },
    });
    expect(report(m).status).toBe('down');
  });

  it('NATS without an account JWT: up, the signing key loaded', async () => {
    const signer = createAccount();
    const m = await started({
      nats: {
        accountId: createAccount().getPublicKey(),
        signingKey: text(signer.getSeed()),
      },
    });
    expect(report(m).nats).toEqual({
      status: 'up',
      accountId: expect.stringMatching(/^A/),
      signingKey: {
        status: 'up',
        publicKey: signer.getPublicKey(),
        scope: 'unknown',
      },
    });
  });

  it('the details never hold a secret, a token, a URL userinfo or query', async () => {
    const seed = text(createAccount().getSeed());
    const privateKey = pem();
    jwks.set('/secret', { kind: 'status', status: 500 });
    const m = await started({
      nats: { accountId: createAccount().getPublicKey(), signingKey: seed },
      service: {
        name: 'a',
        issuer: 'https://a.internal',
        privateKey,
        algorithm: 'ES256',
        trustedIssuers: [
          {
            issuer:
              'https://user:IssuerPassword@orders.internal/?q=IssuerQuery',
            jwksUri: `${jwks.url('/secret')}?api_key=JwksQuerySecret`,
            allowHttp: true,
          },
        ],
      },
      seald: { secretId: 'sid', secret: 'SealdSecretValue'.repeat(2) },
    });
    const token = await m.get(ServiceTokenService).getToken();
    report(m);
    await vi.waitFor(() =>
      expect(issuer(report(m)).consecutiveFailures).toBe(1),
    );
    const shown = JSON.stringify(report(m));
    for (const secret of [
      seed,
      privateKey.split('\n')[1],
      token,
      token.split('.')[2],
      'IssuerPassword',
      'IssuerQuery',
      'JwksQuerySecret',
      'SealdSecretValue',
    ]) {
      expect(shown).not.toContain(secret);
    }
    expect(issuer(report(m))).toMatchObject({
      status: 'down',
      issuer: 'https://orders.internal/',
      jwksUri: jwks.url('/secret'),
    });
    expect(String(issuer(report(m)).lastError)).toContain('HTTP 500');
  });

  it('as a terminus 12 result: down → down, degraded → degraded, up → up (terminus 11 has no degraded: see the Nest 11 fixture)', () => {
    for (const status of ['up', 'degraded', 'down'] as const) {
      const session = new HealthIndicatorService().check('jwt-issuer');
      expect(indicatorResult(session, { status, service: { status } })).toEqual(
        { 'jwt-issuer': { status, service: { status } } },
      );
    }
  });

  it('neither terminus nor the OpenTelemetry API is imported by lib/ except lazily, when used', () => {
    const lib = join(import.meta.dirname, '..', '..', 'lib');
    const files = readdirSync(lib, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'));
    for (const f of files) {
      const source = readFileSync(join(lib, f), 'utf8');
      expect(source, f).not.toMatch(
        /^\s*(import|export)\s[^;]*from\s+'(@nestjs\/terminus|@opentelemetry\/[^']+)'/m,
      );
    }
  });
});
