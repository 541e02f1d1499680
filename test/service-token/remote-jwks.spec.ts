import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JwtVerifier, RemoteJwksKeySource } from '../../lib/index.js';
import { forge } from '../support/forge.js';
import { type HostileJwks, startHostileJwks } from '../support/hostile-jwks.js';
import { LogCollector } from '../support/service-token-apps.js';

const ISS = 'https://m1.test';
const now = (): number => Math.floor(Date.now() / 1000);
const claims = { source: 'microservice', iss: ISS, exp: now() + 600 };
const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwkOf = (
  k: ReturnType<typeof ec>,
  kid: string,
  extra: Record<string, unknown> = {},
) => ({
  ...k.publicKey.export({ format: 'jwk' }),
  kid,
  alg: 'ES256',
  use: 'sig',
  ...extra,
});
const failure = async (p: Promise<unknown>) =>
  (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; message: string } | undefined;
const code = async (p: Promise<unknown>) => (await failure(p))?.code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls `check` until it holds, failing after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

let jwks: HostileJwks;
let path = 0;
/** A fresh path on the hostile server with this behaviour. */
const at = (behaviour: Parameters<HostileJwks['set']>[1]) => {
  const p = `/p${++path}`;
  jwks.set(p, behaviour);
  return p;
};
const logs = new LogCollector();

beforeAll(async () => {
  jwks = await startHostileJwks();
  Logger.overrideLogger(logs);
});
afterAll(async () => {
  await jwks?.close();
});
beforeEach(() => {
  logs.lines.length = 0;
});

describe('RemoteJwksKeySource: keys', () => {
  it('imports good keys once, binds alg-less keys, ignores unusable ones, refetches on an unknown kid only after the cool-down', async () => {
    const k1 = ec();
    const k2 = ec();
    const p = at({
      kind: 'keys',
      keys: [
        jwkOf(k1, 'k1'),
        jwkOf(k2, 'no-alg', { alg: undefined }),
        jwkOf(k2, 'enc', { use: 'enc' }),
        { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' },
      ],
    });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 400,
    });
    const verifier = new JwtVerifier({ sources: [source], cacheSize: 0 });
    const t1 = forge(
      { alg: 'ES256', kid: 'k1' },
      claims,
      k1.privateKey,
      'ES256',
    );
    expect((await verifier.verify(t1)).iss).toBe(ISS);
    expect(source.knownKids()).toEqual(['k1', 'no-alg']);
    expect(source.get('no-alg')?.alg).toBe('ES256');
    const key = source.get('k1');
    expect(jwks.hits(p)).toBe(1);
    // The alg-less key verifies ES256 and nothing else.
    const t0 = forge(
      { alg: 'ES256', kid: 'no-alg' },
      claims,
      k2.privateKey,
      'ES256',
    );
    expect((await verifier.verify(t0)).iss).toBe(ISS);
    // Two unusable entries: one warning line.
    expect(
      logs.lines.filter((l) => l.includes('entries ignored')),
    ).toHaveLength(1);

    // A new key appears: within the cool-down it is not fetched, after it it is.
    jwks.set(p, { kind: 'keys', keys: [jwkOf(k1, 'k1'), jwkOf(k2, 'k2')] });
    const t2 = forge(
      { alg: 'ES256', kid: 'k2' },
      claims,
      k2.privateKey,
      'ES256',
    );
    expect(await code(verifier.verify(t2))).toBe(
      'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
    );
    expect(jwks.hits(p)).toBe(1);
    await sleep(450);
    expect((await verifier.verify(t2)).iss).toBe(ISS);
    expect(jwks.hits(p)).toBe(2);
    expect(source.get('k1')).toBe(key); // same imported key object
  });

  it('an issuer restricted to ES256 refuses its RSA and EdDSA keys, with or without alg', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const ed = generateKeyPairSync('ed25519').publicKey;
    const p = at({
      kind: 'keys',
      keys: [
        { ...rsa.export({ format: 'jwk' }), kid: 'r' },
        { ...rsa.export({ format: 'jwk' }), kid: 'r2', alg: 'RS256' },
        { ...ed.export({ format: 'jwk' }), kid: 'o' },
        jwkOf(ec(), 'e', { alg: undefined }),
      ],
    });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      algorithms: ['ES256'],
    });
    await source.refresh();
    expect(source.knownKids()).toEqual(['e']);
  });

  it('a key missing from one response is kept for the grace period, then dropped', async () => {
    const k1 = ec();
    const k2 = ec();
    const p = at({ kind: 'keys', keys: [jwkOf(k1, 'k1'), jwkOf(k2, 'k2')] });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 0,
      keyGraceMs: 600,
    });
    await source.refresh();
    const key = source.get('k1')!;
    // Another replica answers without k1: it stays usable.
    jwks.set(p, { kind: 'keys', keys: [jwkOf(k2, 'k2')] });
    await source.refresh();
    expect(source.get('k1')).toBe(key);
    // Listed again: back to normal, and still kept past the first grace period.
    jwks.set(p, { kind: 'keys', keys: [jwkOf(k1, 'k1'), jwkOf(k2, 'k2')] });
    await source.refresh();
    jwks.set(p, { kind: 'keys', keys: [jwkOf(k2, 'k2')] });
    await source.refresh();
    expect(source.get('k1')).toBe(key);
    await sleep(650);
    expect(source.get('k1')).toBeUndefined();
    expect(key.active).toBe(false);
    expect(source.get('k2')?.active).toBe(true);
  });

  it('a key missing from the JWKS is withdrawn when its grace period ends, without a lookup or a fetch (cached tokens stop at once)', async () => {
    const k1 = ec();
    const p = at({ kind: 'keys', keys: [jwkOf(k1, 'k1')] });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 0,
      keyGraceMs: 300,
    });
    const verifier = new JwtVerifier({ sources: [source] });
    const token = forge(
      { alg: 'ES256', kid: 'k1' },
      claims,
      k1.privateKey,
      'ES256',
    );
    for (let i = 0; i < 3; i++) await verifier.verify(token); // cached from its second sight
    const key = source.get('k1')!;
    jwks.set(p, { kind: 'keys', keys: [] });
    await source.refresh();
    expect(source.state()).toMatchObject({ keys: 1, keysInGracePeriod: 1 });
    expect((await verifier.verify(token)).iss).toBe(ISS);
    await sleep(350);
    expect(key.active).toBe(false);
    expect(source.state()).toMatchObject({ keys: 0, keysInGracePeriod: 0 });
    expect(() => verifier.verifySync(token)).toThrow(/no key of issuer/);
    expect(jwks.hits(p)).toBe(2);
  });

  it('with keyGraceMs 0 a withdrawn key is dropped at once; a replaced one always is', async () => {
    const k1 = ec();
    const p = at({ kind: 'keys', keys: [jwkOf(k1, 'k1')] });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 0,
      keyGraceMs: 0,
    });
    await source.refresh();
    const key = source.get('k1')!;
    jwks.set(p, { kind: 'keys', keys: [] });
    await source.refresh();
    expect(source.get('k1')).toBeUndefined();
    expect(key.active).toBe(false);

    const graced = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 0,
    });
    jwks.set(p, { kind: 'keys', keys: [jwkOf(k1, 'k1')] });
    await graced.refresh();
    const old = graced.get('k1')!;
    jwks.set(p, { kind: 'keys', keys: [jwkOf(ec(), 'k1')] });
    await graced.refresh();
    expect(graced.get('k1')).not.toBe(old);
    expect(old.active).toBe(false);
  });

  it('keeps at most maxKeys keys', async () => {
    const keys = Array.from({ length: 5 }, (_, i) => jwkOf(ec(), `k${i}`));
    const p = at({ kind: 'keys', keys });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      maxKeys: 3,
    });
    await source.refresh();
    expect(source.knownKids()).toEqual(['k0', 'k1', 'k2']);
  });
});

describe('RemoteJwksKeySource: refresh timing', () => {
  it('honours a Cache-Control max-age shorter than the cool-down, down to the floor', async () => {
    const p = at({
      kind: 'keys',
      keys: [jwkOf(ec(), 'k1')],
      cacheControl: 'max-age=0, must-revalidate',
    });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 30_000,
      minMaxAgeMs: 300,
    });
    await source.refresh();
    const fetchedAt = Date.now();
    // max-age=0 is floored: no request storm.
    for (let i = 0; i < 20; i++) source.get('k1');
    expect(jwks.hits(p)).toBe(1);
    await until(() => {
      expect(source.get('k1')).toBeDefined(); // served now, refreshed behind
      return jwks.hits(p) === 2;
    });
    expect(Date.now() - fetchedAt).toBeGreaterThanOrEqual(290);

    jwks.set(p, {
      kind: 'keys',
      keys: [jwkOf(ec(), 'k1')],
      cacheControl: 'max-age=1',
    });
    const q = at({
      kind: 'keys',
      keys: [jwkOf(ec(), 'k1')],
      cacheControl: 'public, max-age=1',
    });
    const second = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(q),
    });
    await second.refresh();
    const started = Date.now();
    await until(() => (second.get('k1'), jwks.hits(q) === 2), 5000);
    // The default floor is 1 s; the default cool-down (30 s) no longer holds a max-age=1 JWKS.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('after a failure retries after about 1 s, then 2 s, instead of the cool-down', async () => {
    const p = at({ kind: 'down' });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 30_000,
    });
    expect(await code(source.refresh())).toBe(
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
    // Right after: no new request, the error is repeated.
    expect(await code(source.refresh())).toBe(
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
    expect(jwks.hits(p)).toBe(1);
    await until(async () => {
      await source.refresh().catch(() => undefined);
      return jwks.hits(p) === 2;
    }, 3000);
    // Second failure: the next try waits 2 s.
    expect(logs.lines.some((l) => l.includes('next try in 1000 ms'))).toBe(
      true,
    );
    const k1 = ec();
    jwks.set(p, { kind: 'keys', keys: [jwkOf(k1, 'k1')] });
    const up = Date.now();
    await until(async () => {
      await source.refresh().catch(() => undefined);
      return source.get('k1') !== undefined;
    }, 5000);
    const waited = Date.now() - up;
    expect(waited).toBeLessThan(4000); // 30 s before
    expect(logs.lines.some((l) => l.includes('reachable again'))).toBe(true);
    // Back to the cool-down: an unknown kid does not refetch now.
    await source.refresh();
    expect(jwks.hits(p)).toBe(3);
  });
});

describe('RemoteJwksKeySource: hostile endpoints', () => {
  it('a body trickling one byte every 250 ms ends in JWKS_UNAVAILABLE within the timeout; later tokens do not wait', async () => {
    const k1 = ec();
    const p = at({ kind: 'keys', keys: [jwkOf(k1, 'k1')] });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 30_000,
      maxAgeMs: 0,
      minMaxAgeMs: 0,
      timeoutMs: 1000,
    });
    await source.refresh();
    jwks.set(p, { kind: 'trickle', everyMs: 250 });
    const started = Date.now();
    expect(source.get('k1')).toBeDefined(); // stale: refreshed in the background
    const e = await failure(source.refresh()); // shares the request in flight
    const took = Date.now() - started;
    expect(e?.code).toBe('ERR_JWT_ISSUER_JWKS_UNAVAILABLE');
    expect(e?.message).toMatch(/within 1000 ms/);
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(3000);
    expect(jwks.bytesSent(p)).toBeGreaterThanOrEqual(2); // the body did trickle
    // Known keys stay; a token with an unknown kid is answered at once, without a new request.
    expect(source.get('k1')).toBeDefined();
    const verifier = new JwtVerifier({ sources: [source] });
    const t = forge(
      { alg: 'ES256', kid: 'k9' },
      claims,
      k1.privateKey,
      'ES256',
    );
    const again = Date.now();
    expect(await code(verifier.verify(t))).toBe(
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
    expect(Date.now() - again).toBeLessThan(500); // a new fetch would take the 1 s timeout
    expect(jwks.hits(p)).toBe(2);
  });

  it('a server that never answers ends in JWKS_UNAVAILABLE within the timeout', async () => {
    const p = at({ kind: 'hang' });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      timeoutMs: 300,
    });
    const started = Date.now();
    expect(await code(source.refresh())).toBe(
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('an endless body is cut at the limit while streaming', async () => {
    const p = at({ kind: 'huge' });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      timeoutMs: 10_000,
    });
    const started = Date.now();
    const e = await failure(source.refresh());
    expect(e?.message).toMatch(/larger than 1048576 bytes/);
    expect(Date.now() - started).toBeLessThan(5000);
    // What the server managed to write: the limit plus socket buffers, not the 1 GiB it had.
    await sleep(100);
    expect(jwks.bytesSent(p)).toBeLessThan(16 * 1024 * 1024);
  });

  it('a gzip bomb is cut at the limit in decoded bytes, without inflating in memory', async () => {
    const p = at({ kind: 'gzip-bomb' });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      timeoutMs: 10_000,
    });
    global.gc?.();
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 2);
    const started = Date.now();
    const e = await failure(source.refresh());
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    expect(e?.message).toMatch(/larger than 1048576 bytes/);
    expect(Date.now() - started).toBeLessThan(5000);
    // 256 MiB once inflated; held: about the limit.
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('1,000 junk entries make one warning; kids and URLs are sanitized; no query string or userinfo is logged', async () => {
    const junk = Array.from({ length: 1000 }, (_, i) => ({
      kty: 'RSA',
      kid: `junk-${i}\n[FATAL] \u001b[31mforged log line\u202e`,
      n: 'AAAA',
      e: 'AQAB',
      alg: 'RS256',
    }));
    const k1 = ec();
    const p = at({ kind: 'keys', keys: [...junk, jwkOf(k1, 'k1')] });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: `${jwks.url(p)}?access_token=s3cret#frag`,
      cooldownMs: 0,
    });
    await source.refresh();
    expect(source.knownKids()).toEqual(['k1']);
    await source.refresh(); // the same junk again: not warned twice
    const warnings = logs.lines.filter((l) => l.includes('entries ignored'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('1000 of 1001 entries ignored');
    for (const line of logs.lines) {
      for (const c of ['\n', '\u001b', '\u202e']) expect(line).not.toContain(c);
      expect(line).not.toContain('s3cret');
      expect(line).not.toContain('frag');
      expect(line.length).toBeLessThan(3000);
    }
    // Userinfo is never logged either (fetch refuses such URLs; the log still must not show the password).
    const creds = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p).replace('http://', 'http://user:hunter2@'),
    });
    const e = await failure(creds.refresh());
    expect(e?.code).toBe('ERR_JWT_ISSUER_JWKS_UNAVAILABLE');
    expect(e?.message).not.toContain('hunter2');
    expect(logs.lines.join('\n')).not.toContain('hunter2');
  });

  it('a response that is not JSON, or has no keys list, or an error status, is JWKS_UNAVAILABLE and keeps the known keys', async () => {
    const p = at({ kind: 'keys', keys: [jwkOf(ec(), 'k1')] });
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: jwks.url(p),
      cooldownMs: 0,
      retryMinMs: 0,
    });
    await source.refresh();
    for (const b of [
      { kind: 'keys', raw: '{"keys": [' },
      { kind: 'keys', raw: '{"nokeys": true}' },
      { kind: 'status', status: 500 },
    ] as const) {
      jwks.set(p, b);
      expect(await code(source.refresh())).toBe(
        'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
      );
    }
    expect(source.get('k1')?.kid).toBe('k1');
  });
});
