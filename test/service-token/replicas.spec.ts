import 'reflect-metadata';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import {
  startRedisServer,
  type RunningRedisServer,
} from '../support/redis-server.js';
import {
  compileLibrary,
  ReplicaProcess,
  type ReplicaStats,
  startRoundRobinProxy,
} from '../support/replica-fleet.js';
import {
  LogCollector,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

// Three replicas of 'orders' as separate processes behind a round-robin balancer; a verifier service trusts them
// through the balancer's JWKS URL. Rotation every 5 s; the verifier's JWKS cool-down is 0.5 s.
const ISSUER = 'http://orders.test';
const ROTATION_S = 5;
const BUILD = '.replicas-test';
const jwksOf = async (r: ReplicaProcess) =>
  (await fetch(`${r.url}/.well-known/jwks.json`)).text();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Waits for the middle of a slot (keys change just after slot boundaries) and checks that every replica serves the
 * same JWKS, giving a replica that saw the last change late about a second to catch up.
 */
async function expectSameJwks(replicas: ReplicaProcess[]): Promise<void> {
  const slotMs = ROTATION_S * 1000;
  const intoSlot = Date.now() % slotMs;
  if (intoSlot < 2000 || intoSlot > 3000) {
    await sleep((2000 - intoSlot + slotMs) % slotMs);
  }
  let sets = await Promise.all(replicas.map(jwksOf));
  if (new Set(sets).size > 1) {
    await sleep(1200);
    sets = await Promise.all(replicas.map(jwksOf));
  }
  expect(new Set(sets).size, sets.join('\n')).toBe(1);
}

/**
 * Every replica signed with the same kids in the same order: ranking all kids by when any replica first used them,
 * each replica's list is a run of consecutive ranks (none skipped, none out of order).
 */
function expectSameKidsInSameOrder(all: ReplicaStats[]): string[] {
  const first = new Map<string, number>();
  for (const s of all) {
    for (const { kid, at } of s.kids) {
      first.set(kid, Math.min(first.get(kid) ?? at, at));
    }
  }
  const order = [...first.keys()].toSorted(
    (a, b) => first.get(a)! - first.get(b)!,
  );
  for (const s of all) {
    const ranks = s.kids.map((k) => order.indexOf(k.kid));
    expect(
      ranks,
      `kids ${s.kids.map((k) => k.kid).join(' ')} vs ${order.join(' ')}`,
    ).toEqual(ranks.map((_, i) => ranks[0] + i));
  }
  return order;
}

describe('service tokens across 3 replica processes', () => {
  const keys = {
    privatePem: generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString(),
  };
  let lib: string;
  let redis: RunningRedisServer;
  let verifier: RunningApp;
  const logs = new LogCollector();
  let replicas: ReplicaProcess[] = [];
  let proxy: Awaited<ReturnType<typeof startRoundRobinProxy>>;

  const env = (keyStore: string): Record<string, string> => ({
    NODE_ENV: 'production',
    JWT_ISSUER_SERVICE_NAME: 'orders',
    JWT_ISSUER_SERVICE_ISSUER: ISSUER,
    JWT_ISSUER_SERVICE_ALGORITHM: 'ES256', // cheap key generation: the box may be shared
    JWT_ISSUER_SERVICE_PRIVATE_KEY: keys.privatePem,
    JWT_ISSUER_SERVICE_ROTATION_INTERVAL: String(ROTATION_S),
    JWT_ISSUER_SERVICE_JWKS_COOLDOWN: '0.5',
    JWT_ISSUER_SERVICE_TOKEN_VALIDITY: '10',
    JWT_ISSUER_SERVICE_KEY_STORE: keyStore,
  });
  const target = () => `${verifier.url}/internal/whoami`;

  beforeAll(async () => {
    [lib, redis] = await Promise.all([
      Promise.resolve(compileLibrary(BUILD)),
      startRedisServer(),
    ]);
    proxy = await startRoundRobinProxy(() => replicas.map((r) => r.port));
    verifier = await startServiceApp(
      {
        name: 'billing',
        issuer: 'http://billing.test',
        trustedIssuers: [
          { issuer: ISSUER, jwksUri: `${proxy.url}/.well-known/jwks.json` },
        ],
        jwksCooldown: 0.5,
      },
      { logger: logs },
    );
  }, 120_000);

  afterEach(() => {
    for (const r of replicas) r.kill();
    replicas = [];
  });

  afterAll(async () => {
    await proxy?.close();
    await verifier?.app.close();
    await redis?.stop();
    rmSync(join(import.meta.dirname, '..', '..', BUILD), {
      recursive: true,
      force: true,
    });
  });

  it('shared through Redis: ≥ 30 s of calls while keys rotate, then Redis paused and a replica restarted: zero failures, same kids, same JWKS', async () => {
    replicas = await Promise.all(
      [1, 2, 3].map(() => ReplicaProcess.start(lib, env(redis.url))),
    );
    for (const r of replicas) r.run(target());
    const start = Date.now();

    // Mid-slot (keys change only just after slot boundaries), every replica serves the same JWKS.
    let snapshots = 0;
    while (Date.now() - start < 31_000) {
      if (Date.now() - start > 6000) {
        await expectSameJwks(replicas);
        snapshots++;
      }
      await sleep(ROTATION_S * 1000 - 1000);
    }
    expect(snapshots).toBeGreaterThanOrEqual(3);
    const phase1 = await Promise.all(replicas.map((r) => r.report()));
    for (const s of phase1) {
      expect(s.failures).toEqual([]);
      expect(s.ok).toBeGreaterThan(20);
    }
    const order = expectSameKidsInSameOrder(phase1);
    // The static key first (the new ring's first key is not published long enough yet), then ≥ 5 rotations.
    expect(
      order.filter((k) => k.startsWith('d-')).length,
    ).toBeGreaterThanOrEqual(5);
    const jwks = JSON.parse(await jwksOf(replicas[0])) as { keys: unknown[] };
    console.log(
      `JWKS with a shared ring, ES256, rotation ${ROTATION_S} s, validity 10 s: ${jwks.keys.length} keys, ${JSON.stringify(jwks).length} bytes`,
    );

    // Redis stalls (SIGSTOP) for longer than one rotation.
    redis.pause();
    await sleep(ROTATION_S * 1000 + 2000);
    redis.resume();
    for (const r of replicas) {
      await until('the replica to catch up', () =>
        r.log().includes('Key store reachable again'),
      );
    }
    await sleep(3000);

    // One replica restarts (graceful stop, a new process joins the balancer).
    const stopped = await replicas[1].stop();
    const fresh = await ReplicaProcess.start(lib, env(redis.url));
    const survivors = [replicas[0], replicas[2]];
    replicas = [replicas[0], fresh, replicas[2]];
    fresh.run(target());
    await sleep(ROTATION_S * 1000 + 3000);

    const final = await Promise.all(replicas.map((r) => r.report()));
    for (const s of [...final, stopped]) expect(s.failures).toEqual([]);
    expectSameKidsInSameOrder([...final, stopped]);
    for (const r of [...survivors, fresh]) {
      expect(r.unhandledRejections()).toEqual([]);
    }
    // Logged once when Redis went away and once when it came back (per replica), never a key.
    for (const r of survivors) {
      expect(r.log().match(/Key store unreachable/g)).toHaveLength(1);
      expect(r.log().match(/Key store reachable again/g)).toHaveLength(1);
      expect(r.log()).not.toContain('PRIVATE KEY');
    }
    await expectSameJwks(replicas);
    for (const r of replicas) await r.stop();
    replicas = [];
  }, 150_000);

  it('negative control: the same fleet with the memory store fails calls (each replica publishes only its own keys)', async () => {
    replicas = await Promise.all(
      [1, 2, 3].map(() => ReplicaProcess.start(lib, env('memory'))),
    );
    for (const r of replicas) r.run(target());
    await sleep(2 * ROTATION_S * 1000 + 1000);
    const stats = await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
    const failed = stats.reduce((n, s) => n + s.failed, 0);
    const ok = stats.reduce((n, s) => n + s.ok, 0);
    console.log(
      `memory store, 3 replicas: ${failed} failed of ${failed + ok} calls`,
    );
    expect(failed).toBeGreaterThan(0);
  }, 60_000);
});
