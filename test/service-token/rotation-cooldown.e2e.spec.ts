import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceTokenOptions } from '../../lib/index.js';
import { forge } from '../support/forge.js';
import {
  type RunningRedisServer,
  startRedisServer,
} from '../support/redis-server.js';
import {
  LogCollector,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/**
 * Signs with the current dynamic key every 50 ms for `ms` and verifies each token with every verifier (jose's
 * createRemoteJWKSet: a verifier that ignores Cache-Control and refetches only for an unknown kid, no more often than
 * its cool-down). Before each, every verifier also meets a token with a kid nobody publishes (another caller's, or an
 * attacker's), which makes it refetch as soon as its cool-down allows: its last fetch is then always recent, as the
 * publication lead must assume. Returns the refusals of the real tokens per verifier and the kids seen.
 */
async function signAndVerify(
  issuer: RunningApp,
  cooldowns: Record<string, number>,
  ms: number,
): Promise<{ refused: Record<string, number>; kids: Set<string> }> {
  const jwks = new URL(`${issuer.url}/.well-known/jwks.json`);
  const verifiers = Object.entries(cooldowns).map(
    ([name, cooldownDuration]) =>
      [
        name,
        createRemoteJWKSet(jwks, { cooldownDuration, cacheMaxAge: 600_000 }),
      ] as const,
  );
  const refused = Object.fromEntries(Object.keys(cooldowns).map((n) => [n, 0]));
  const kids = new Set<string>();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const token = await issuer.service.createJwt(
      { source: 'microservice' },
      { useStaticSigningKey: false, validitySeconds: 60 },
    );
    kids.add(String(decodeProtectedHeader(token).kid));
    const unknownKid = forge(
      { alg: 'ES256', kid: `nobody-${kids.size}-${Date.now()}` },
      { exp: Math.floor(Date.now() / 1000) + 60 },
      stranger,
      'ES256',
    );
    for (const [name, keys] of verifiers) {
      await jwtVerify(unknownKid, keys).then(
        () => expect.unreachable('a kid nobody publishes was accepted'),
        () => undefined,
      );
      await jwtVerify(token, keys).catch(() => refused[name]++);
    }
    await sleep(50);
  }
  return { refused, kids };
}

describe('rotationInterval and the verifiers’ JWKS cool-down', () => {
  const apps: RunningApp[] = [];
  let redis: RunningRedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    for (const app of apps) await app.app.close();
    await redis?.stop();
  });
  const start = async (options: ServiceTokenOptions) => {
    const app = await startServiceApp(
      { name: 'rotating', issuer: 'http://rotating.test', ...options },
      { logger: new LogCollector() },
    );
    apps.push(app);
    return app;
  };

  it('in-process keys (rotation 2 s, jwksCooldown 2): a verifier whose cool-down is at most 2 s never refuses; one with 5 s refuses the new key’s first tokens', async () => {
    const issuer = await start({
      algorithm: 'ES256',
      rotationInterval: 2,
      jwksCooldown: 2,
    });
    const { refused, kids } = await signAndVerify(
      issuer,
      { within: 1500, longer: 5000 },
      9000,
    );
    expect(kids.size).toBeGreaterThanOrEqual(4);
    expect(refused.within).toBe(0);
    expect(refused.longer).toBeGreaterThan(0);
  }, 30_000);

  it('a shared key store (rotation 3 s, jwksCooldown 1: each key in the store 1 s + 2 syncs before it signs): a verifier whose cool-down is at most 1 s never refuses', async () => {
    const issuer = await start({
      algorithm: 'ES256',
      privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
      rotationInterval: 3,
      jwksCooldown: 1,
      keyStore: redis.url,
    });
    const { refused, kids } = await signAndVerify(
      issuer,
      { within: 1000 },
      11_000,
    );
    // The static key bridges until the first shared key has its lead; then at least two shared keys sign.
    expect(
      [...kids].filter((k) => k.startsWith('d-')).length,
    ).toBeGreaterThanOrEqual(2);
    expect(refused.within).toBe(0);
  }, 30_000);
});
