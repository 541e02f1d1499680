import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import {
  Controller,
  Get,
  type INestApplication,
  Module,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  HealthCheck,
  HealthCheckService,
  TerminusModule,
} from '@nestjs/terminus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerHealthIndicator,
  JwtIssuerModule,
  type ServiceTokenOptions,
  ServiceTokenGuard,
  ServiceTokenService,
} from '../../lib/index.js';
import { JwtIssuerTelemetry } from '../../lib/common/telemetry.js';
import { forge } from '../support/forge.js';
import { type HostileJwks, startHostileJwks } from '../support/hostile-jwks.js';
import {
  type RunningRedisServer,
  startRedisServer,
} from '../support/redis-server.js';

const now = (): number => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ORDERS = 'https://orders.internal';
const SECRET = 's3cret-in-the-query';

@Controller()
class HealthController {
  constructor(
    private readonly checks: HealthCheckService,
    private readonly jwtIssuer: JwtIssuerHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.checks.check([() => this.jwtIssuer.isHealthy('jwt-issuer')]);
  }

  @UseGuards(ServiceTokenGuard)
  @Get('internal/whoami')
  whoami(): { ok: true } {
    return { ok: true };
  }
}

interface HealthBody {
  status: string;
  details: {
    'jwt-issuer': {
      status: string;
      service: {
        status: string;
        trustedIssuers: Record<string, unknown>[];
        keyStore?: Record<string, unknown>;
        signing?: Record<string, unknown>;
      };
    };
  };
}

async function startApp(
  service: ServiceTokenOptions,
): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [
      TerminusModule.forRoot({ logger: false }),
      JwtIssuerModule.forRoot({ ignoreEnvVars: true, service }),
    ],
    controllers: [HealthController],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const port = ((app.getHttpServer() as Server).address() as { port: number })
    .port;
  return { app, url: `http://127.0.0.1:${port}` };
}

async function health(
  url: string,
): Promise<{ http: number; body: HealthBody; text: string }> {
  const res = await fetch(`${url}/health`);
  const text = await res.text();
  return { http: res.status, body: JSON.parse(text) as HealthBody, text };
}

/**
 * Probes `/health` every 100 ms until `until` holds (or `timeoutMs` passes), recording each change of
 * `describe(probe)`; runs `during` on every probe (e.g. a guarded call that must keep working).
 */
async function watch(
  url: string,
  stateOf: (p: Awaited<ReturnType<typeof health>>) => string,
  until: (p: Awaited<ReturnType<typeof health>>) => boolean,
  states: string[],
  during?: () => Promise<void>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await health(url);
    expect(p.text).not.toContain(SECRET);
    const state = stateOf(p);
    if (states.at(-1) !== state) states.push(state);
    await during?.();
    if (until(p)) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out; states so far: ${states.join(' → ')}`);
    }
    await sleep(100);
  }
}

const issuerOf = (p: Awaited<ReturnType<typeof health>>) =>
  p.body.details['jwt-issuer'].service.trustedIssuers[0];

describe('health over HTTP through a terminus endpoint', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = {
    ...key.publicKey.export({ format: 'jwk' }),
    kid: 'o-1',
    alg: 'ES256',
  };
  const token = forge(
    { alg: 'ES256', kid: 'o-1' },
    { source: 'microservice', iss: ORDERS, sub: 'orders', exp: now() + 600 },
    key.privateKey,
    'ES256',
  );
  let jwks: HostileJwks;
  const apps: INestApplication[] = [];
  const verifying = (path: string): ServiceTokenOptions => ({
    jwksCacheMaxAge: 1,
    jwksCooldown: 1,
    trustedIssuers: [
      {
        issuer: ORDERS,
        jwksUri: `${jwks.url(path)}?api_key=${SECRET}`,
        allowHttp: true,
      },
    ],
  });

  beforeAll(async () => {
    jwks = await startHostileJwks();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await jwks?.close();
  });

  it('a trusted issuer whose JWKS goes down and comes back: up → degraded → up, never down while its keys are known', async () => {
    jwks.set('/a', { kind: 'keys', keys: [jwk] });
    const { app, url } = await startApp(verifying('/a'));
    apps.push(app);
    const states: string[] = [];
    const stateOf = (p: Awaited<ReturnType<typeof health>>) =>
      `${p.http} ${p.body.status} ${String(issuerOf(p).status)}`;
    let calls = 0;
    const guardedCallWorks = async () => {
      const res = await fetch(`${url}/internal/whoami`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      calls++;
    };
    // The first probe starts the first fetch; the keys arrive.
    await watch(url, stateOf, (p) => issuerOf(p).keys === 1, states);
    await guardedCallWorks();
    jwks.set('/a', { kind: 'down' });
    await watch(
      url,
      stateOf,
      (p) => Number(issuerOf(p).consecutiveFailures) >= 2,
      states,
      guardedCallWorks,
    );
    const degraded = issuerOf(await health(url));
    expect(degraded).toMatchObject({
      status: 'degraded',
      issuer: ORDERS,
      jwksUri: jwks.url('/a'), // no query string
      keys: 1,
    });
    expect(degraded.lastError).toMatch(/could not be fetched/);
    expect(degraded.nextRetryInSeconds).toBeLessThanOrEqual(1);
    jwks.set('/a', { kind: 'keys', keys: [jwk] });
    await watch(
      url,
      stateOf,
      (p) => issuerOf(p).consecutiveFailures === 0,
      states,
      guardedCallWorks,
    );
    expect(states).toEqual(['200 ok up', '200 degraded degraded', '200 ok up']);
    expect(calls).toBeGreaterThan(3);
  }, 60_000);

  it('a trusted issuer never reached since start: up (first fetch under way) → down → up once its JWKS answers', async () => {
    jwks.set('/b', { kind: 'down' });
    const { app, url } = await startApp(verifying('/b'));
    apps.push(app);
    const states: string[] = [];
    const stateOf = (p: Awaited<ReturnType<typeof health>>) =>
      `${p.http} ${p.body.status} ${String(issuerOf(p).status)}`;
    await watch(url, stateOf, (p) => p.http === 503, states);
    const down = await health(url);
    expect(down.body.status).toBe('error');
    expect(issuerOf(down)).toMatchObject({ status: 'down', keys: 0 });
    // Its tokens are refused now: that is what "down" means.
    const refused = await fetch(`${url}/internal/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(401);
    jwks.set('/b', { kind: 'keys', keys: [jwk] });
    await watch(url, stateOf, (p) => issuerOf(p).keys === 1, states);
    expect(states).toEqual(['200 ok up', '503 error down', '200 ok up']);
  }, 60_000);

  it('a trusted issuer whose JWKS withdraws every key: degraded from the refetch that finds them gone, its tokens still verified for the grace period, then down and its tokens refused', async () => {
    // max-age=600: no background refresh; the one refetch is the one an unknown kid asks for.
    jwks.set('/w', { kind: 'keys', keys: [jwk], cacheControl: 'max-age=600' });
    const { app, url } = await startApp({
      jwksCacheMaxAge: 600,
      jwksCooldown: 1,
      jwksKeyGracePeriod: 3,
      trustedIssuers: [
        {
          issuer: ORDERS,
          jwksUri: `${jwks.url('/w')}?api_key=${SECRET}`,
          allowHttp: true,
        },
      ],
    });
    apps.push(app);
    const states: string[] = [];
    const stateOf = (p: Awaited<ReturnType<typeof health>>) =>
      `${p.http} ${p.body.status} ${String(issuerOf(p).status)}`;
    const signed = (kid: string) =>
      forge(
        { alg: 'ES256', kid },
        {
          source: 'microservice',
          iss: ORDERS,
          sub: 'orders',
          exp: now() + 600,
          jti: Math.random().toString(36),
        },
        key.privateKey,
        'ES256',
      );
    const status = async (t: string) =>
      (
        await fetch(`${url}/internal/whoami`, {
          headers: { authorization: `Bearer ${t}` },
        })
      ).status;
    await watch(url, stateOf, (p) => issuerOf(p).keys === 1, states);
    // Seen three times: served from the verified-token cache from then on.
    const cached = signed('o-1');
    for (let i = 0; i < 3; i++) expect(await status(cached)).toBe(200);
    await sleep(1100); // past the cool-down

    jwks.set('/w', { kind: 'keys', keys: [], cacheControl: 'max-age=600' });
    const hits = jwks.hits('/w');
    // A token with an unknown kid makes the verifier refetch: the JWKS now lists no key.
    expect(await status(signed('o-2'))).toBe(401);
    expect(jwks.hits('/w')).toBe(hits + 1);
    const withdrawnAt = Date.now();
    // The first report after that refetch: degraded, the withdrawn key still usable for its grace period.
    const after = await health(url);
    expect(stateOf(after)).toBe('200 degraded degraded');
    expect(issuerOf(after)).toMatchObject({
      status: 'degraded',
      keys: 1,
      keysInGracePeriod: 1,
      consecutiveFailures: 0,
    });
    expect(await status(cached)).toBe(200);
    expect(await status(signed('o-1'))).toBe(200);

    await watch(url, stateOf, (p) => p.http === 503, states);
    expect(states).toEqual([
      '200 ok up',
      '200 degraded degraded',
      '503 error down',
    ]);
    expect(Date.now() - withdrawnAt).toBeGreaterThan(2500);
    expect(issuerOf(await health(url))).toMatchObject({
      status: 'down',
      keys: 0,
      keysInGracePeriod: 0,
      consecutiveFailures: 0,
    });
    // No token of it can be verified any longer: neither the one the cache held (asked first: no lookup of its key
    // has withdrawn it yet) nor a new one.
    expect(await status(cached)).toBe(401);
    expect(await status(signed('o-1'))).toBe(401);
  }, 60_000);

  describe('a shared key store in a real redis-server', () => {
    let redis: RunningRedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      redis?.resume();
      await redis?.stop();
    });

    it('paused (SIGSTOP) and resumed: up → degraded → up; signing and verifying go on meanwhile', async () => {
      const { app, url } = await startApp({
        name: 'billing',
        issuer: 'https://billing.internal',
        privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
        algorithm: 'ES256',
        keyStore: redis.url,
      });
      apps.push(app);
      const service = app.get(ServiceTokenService);
      const states: string[] = [];
      const store = (p: Awaited<ReturnType<typeof health>>) =>
        p.body.details['jwt-issuer'].service.keyStore!;
      const stateOf = (p: Awaited<ReturnType<typeof health>>) =>
        `${p.http} ${p.body.status} ${String(store(p).status)}`;
      const signsAndVerifies = async () => {
        const own = await service.createJwt({
          source: 'microservice',
          sub: 'billing',
          n: Math.random(),
        });
        const res = await fetch(`${url}/internal/whoami`, {
          headers: { authorization: `Bearer ${own}` },
        });
        expect(res.status).toBe(200);
      };
      await watch(url, stateOf, (p) => store(p).lastSyncAt !== null, states);
      redis.pause();
      try {
        await watch(
          url,
          stateOf,
          (p) => Number(store(p).consecutiveFailures) >= 2,
          states,
          signsAndVerifies,
        );
        const paused = store(await health(url));
        expect(paused).toMatchObject({ status: 'degraded' });
        expect(paused.lastError).toMatch(/timed out|timeout/i);
      } finally {
        redis.resume();
      }
      await watch(
        url,
        stateOf,
        (p) => store(p).consecutiveFailures === 0,
        states,
        signsAndVerifies,
      );
      expect(states).toEqual([
        '200 ok up',
        '200 degraded degraded',
        '200 ok up',
      ]);
      const signing = (await health(url)).body.details['jwt-issuer'].service
        .signing!;
      expect(signing).toMatchObject({
        status: 'up',
        algorithm: 'ES256',
        signingWith: 'static',
      });
      expect(String(signing.kid)).toMatch(/^s-/);
      // The store calls were counted for the metrics, the failures of the pause apart.
      const ops = Object.fromEntries(
        app
          .get(JwtIssuerTelemetry)
          .snapshot()
          ['nest_jwt_issuer.service.key_store.operations'].map((x) => [
            `${x.attributes['nest_jwt_issuer.key_store.operation']} ${x.attributes['nest_jwt_issuer.outcome']}`,
            x.value,
          ]),
      );
      expect(ops['get_all success']).toBeGreaterThanOrEqual(2); // before the pause and after it
      expect(ops['get_all failure']).toBeGreaterThanOrEqual(2);
    }, 60_000);
  });
});
