import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forge } from '../support/forge.js';
import {
  forgeWithExponentOne,
  forgeWithIdentityKey,
  type HostileJwks,
  startHostileJwks,
  weakJwks,
} from '../support/hostile-jwks.js';
import {
  LogCollector,
  type Platform,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

const now = (): number => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) =>
  xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
const ISSUERS = ['slow', 'huge', 'bomb', 'weak', 'junk', 'flaky', 'noalg'];
const iss = (name: string) => `https://${name}.test`;
const claims = (name: string) => ({
  source: 'microservice',
  iss: iss(name),
  sub: name,
  exp: now() + 600,
});

describe.each<Platform>(['express', 'fastify'])(
  'the guard against hostile JWKS endpoints, on %s',
  (platform) => {
    const logs = new LogCollector();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const good = {
      ...key.publicKey.export({ format: 'jwk' }),
      kid: 'good',
      alg: 'ES256',
    };
    const token = (name: string, kid = 'good') =>
      forge({ alg: 'ES256', kid }, claims(name), key.privateKey, 'ES256');
    const weak = weakJwks();
    let jwks: HostileJwks;
    let app: RunningApp;

    beforeAll(async () => {
      jwks = await startHostileJwks();
      jwks.set('/slow', { kind: 'trickle', everyMs: 250 });
      jwks.set('/huge', { kind: 'huge' });
      jwks.set('/bomb', { kind: 'gzip-bomb' });
      jwks.set('/weak', {
        kind: 'keys',
        keys: [
          ...Object.entries(weak).map(([kid, jwk]) => ({ ...jwk, kid })),
          good,
        ],
      });
      jwks.set('/junk', {
        kind: 'keys',
        keys: [
          ...Array.from({ length: 1000 }, (_, i) => ({
            kid: `junk-${i}\n\u001b[31m`,
            kty: 'RSA',
            n: 'AAAA',
          })),
          good,
        ],
      });
      jwks.set('/flaky', { kind: 'down' });
      jwks.set('/noalg', {
        kind: 'keys',
        keys: [{ ...good, alg: undefined }],
      });
      app = await startServiceApp(
        {
          name: 'guarded',
          issuer: 'https://guarded.test',
          trustedIssuers: ISSUERS.map((name) => ({
            issuer: iss(name),
            jwksUri: jwks.url(`/${name}`),
          })),
          jwksTimeout: 2,
        },
        { platform, logger: logs },
      );
      // Warm up the HTTP stack and the guard (own token, local keys) before anything is timed.
      for (let i = 0; i < 5; i++) await fetch(`${app.url}/internal/open`);
      const own = await fetch(`${app.url}/internal/whoami`, {
        headers: { authorization: `Bearer ${await app.service.getToken()}` },
      });
      expect(own.status).toBe(200);
    });
    afterAll(async () => {
      await app?.app.close();
      await jwks?.close();
    });

    async function call(authorization: string) {
      const started = performance.now();
      const res = await fetch(`${app.url}/internal/whoami`, {
        headers: { authorization: `Bearer ${authorization}` },
      });
      await res.text();
      return { status: res.status, ms: performance.now() - started };
    }

    /** Runs `work` while timing unguarded requests to the same service, one after another. */
    async function whileOpenRequests<T>(
      work: Promise<T>,
    ): Promise<{ result: T; latencies: number[] }> {
      const state = { finished: false };
      const latencies: number[] = [];
      const result = work.finally(() => {
        state.finished = true;
      });
      while (!state.finished) {
        const started = performance.now();
        const res = await fetch(`${app.url}/internal/open`);
        expect(await res.text()).toBe('open');
        latencies.push(performance.now() - started);
      }
      return { result: await result, latencies };
    }

    it('a JWKS body trickling one byte every 250 ms: 401 within jwksTimeout, other requests served meanwhile, later tokens do not wait', async () => {
      const { result, latencies } = await whileOpenRequests(
        call(token('slow')),
      );
      expect(result.status).toBe(401);
      // jwksTimeout is 2 s; generous slack for a loaded machine, far below "never".
      expect(result.ms).toBeGreaterThan(1900);
      expect(result.ms).toBeLessThan(6000);
      expect(latencies.length).toBeGreaterThan(5);
      expect(median(latencies)).toBeLessThan(150);
      expect(Math.max(...latencies)).toBeLessThan(1000);
      // The next token of that issuer is refused at once (retry delay), not after another 2 s timeout.
      const again = await call(token('slow'));
      expect(again.status).toBe(401);
      expect(again.ms).toBeLessThan(1500);
      expect(
        logs.lines.some(
          (l) =>
            l.includes(`the JWKS of '${iss('slow')}'`) &&
            l.includes('no complete answer within 2000 ms'),
        ),
      ).toBe(true);
    });

    it('an endless JWKS body and a gzip bomb: 401 quickly, cut at 1 MiB, other requests served meanwhile', async () => {
      for (const name of ['huge', 'bomb']) {
        const { result, latencies } = await whileOpenRequests(
          call(token(name)),
        );
        expect(result.status).toBe(401);
        expect(result.ms).toBeLessThan(5000);
        expect(Math.max(...latencies, 0)).toBeLessThan(1000);
        expect(
          logs.lines.some(
            (l) =>
              l.includes(`the JWKS of '${iss(name)}'`) &&
              l.includes('larger than 1048576 bytes'),
          ),
        ).toBe(true);
      }
      await sleep(100);
      expect(jwks.bytesSent('/huge')).toBeLessThan(16 * 1024 * 1024);
    });

    it('weak keys are refused: tokens forged for them get 401, the sound key of the same JWKS works, one warning names the kids', async () => {
      expect((await call(token('weak'))).status).toBe(200);
      const identity = forgeWithIdentityKey(
        { alg: 'EdDSA', kid: 'ed-identity' },
        claims('weak'),
      );
      const e1 = forgeWithExponentOne(
        weak['rsa-e1'].n as string,
        { alg: 'RS256', kid: 'rsa-e1' },
        claims('weak'),
      );
      expect((await call(identity)).status).toBe(401);
      expect((await call(e1)).status).toBe(401);
      const warnings = logs.lines.filter(
        (l) => l.includes(`'${iss('weak')}'`) && l.includes('entries ignored'),
      );
      expect(warnings).toHaveLength(1);
      for (const kid of Object.keys(weak))
        expect(warnings[0]).toContain(`'${kid}'`);
      expect(warnings[0]).toMatch(/small order/);
      expect(warnings[0]).toMatch(/exponent other than 65537/);
    });

    it('1,000 junk entries: the good key works and one sanitized warning is logged', async () => {
      expect((await call(token('junk'))).status).toBe(200);
      const warnings = logs.lines.filter(
        (l) => l.includes(`'${iss('junk')}'`) && l.includes('entries ignored'),
      );
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('1000 of 1001 entries ignored');
      expect(warnings[0]).not.toContain('\n');
      expect(warnings[0]).not.toContain('\u001b');
    });

    it('a JWKS without alg members is usable (keys bound by kty/crv)', async () => {
      expect((await call(token('noalg'))).status).toBe(200);
    });

    it('an issuer down when first asked is accepted about a second after it comes up (not after the 30 s cool-down)', async () => {
      expect((await call(token('flaky'))).status).toBe(401);
      jwks.set('/flaky', { kind: 'keys', keys: [good] });
      const up = performance.now();
      let status = 0;
      while (status !== 200 && performance.now() - up < 10_000) {
        status = (await call(token('flaky'))).status;
        if (status !== 200) await sleep(50);
      }
      expect(status).toBe(200);
      // The first retry comes 1 s after the failure (the cool-down is 30 s).
      expect(performance.now() - up).toBeLessThan(4000);
    });
  },
);

describe.each<Platform>(['express', 'fastify'])(
  'a JWKS that withdraws every key, on %s',
  (platform) => {
    const logs = new LogCollector();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = {
      ...key.publicKey.export({ format: 'jwk' }),
      kid: 'w-1',
      alg: 'ES256',
    };
    const token = (kid = 'w-1') =>
      forge(
        { alg: 'ES256', kid },
        { ...claims('withdrawing'), jti: Math.random().toString(36) },
        key.privateKey,
        'ES256',
      );
    let jwks: HostileJwks;
    let app: RunningApp;

    beforeAll(async () => {
      jwks = await startHostileJwks();
      jwks.set('/w', { kind: 'keys', keys: [jwk] });
      app = await startServiceApp(
        {
          trustedIssuers: [
            { issuer: iss('withdrawing'), jwksUri: jwks.url('/w') },
          ],
          jwksCooldown: 0,
          jwksCacheMaxAge: 600,
          jwksKeyGracePeriod: 1,
          refusalLogLines: 1000,
        },
        { platform, logger: logs },
      );
    });
    afterAll(async () => {
      await app?.app.close();
      await jwks?.close();
    });

    const status = async (t: string) =>
      (
        await fetch(`${app.url}/internal/whoami`, {
          headers: { authorization: `Bearer ${t}` },
        })
      ).status;

    it('its tokens pass for jwksKeyGracePeriod after the fetch that finds the key gone, then none does, cached ones included', async () => {
      const cached = token();
      for (let i = 0; i < 3; i++) expect(await status(cached)).toBe(200);
      jwks.set('/w', { kind: 'keys', keys: [] });
      // An unknown kid makes the guard refetch: the JWKS lists no key now.
      expect(await status(token('w-2'))).toBe(401);
      expect(jwks.hits('/w')).toBe(2);
      expect(await status(cached)).toBe(200);
      expect(await status(token())).toBe(200);
      await sleep(1100);
      // The cached token first: nothing has looked the key up since its grace period ended.
      expect(await status(cached)).toBe(401);
      expect(await status(token())).toBe(401);
      expect(
        logs.lines.filter(
          (l) =>
            l.includes('ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN') &&
            l.includes(
              `no key of issuer '${iss('withdrawing')}' has kid 'w-1'`,
            ),
        ),
      ).not.toHaveLength(0);
    });
  },
);
