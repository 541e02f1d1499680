import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { JwtVerifier, RemoteJwksKeySource } from '../../lib/index.js';
import { forge } from '../support/forge.js';

interface Jwks {
  status: number;
  body: unknown;
  cacheControl?: string;
  hang?: boolean;
}

/** A real JWKS endpoint on 127.0.0.1 whose answer the test changes; counts requests. */
async function jwksServer(
  state: Jwks,
): Promise<{ url: string; hits: () => number; server: Server }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    if (state.hang) return; // never answers
    res.writeHead(state.status, {
      'content-type': 'application/json',
      ...(state.cacheControl ? { 'cache-control': state.cacheControl } : {}),
    });
    res.end(JSON.stringify(state.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    hits: () => hits,
    server,
  };
}

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
const code = async (p: Promise<unknown>) =>
  ((await p.catch((e: unknown) => e)) as { code?: string }).code;

describe('RemoteJwksKeySource', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('imports good keys once, ignores unusable ones, refetches on an unknown kid only after the cool-down', async () => {
    const k1 = ec();
    const k2 = ec();
    const state: Jwks = {
      status: 200,
      body: {
        keys: [
          jwkOf(k1, 'k1'),
          jwkOf(k2, 'no-alg', { alg: undefined }),
          jwkOf(k2, 'enc', { use: 'enc' }),
          { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' },
        ],
      },
    };
    const srv = await jwksServer(state);
    servers.push(srv.server);
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: srv.url,
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
    expect(source.knownKids()).toEqual(['k1']);
    const key = source.get('k1');
    expect(srv.hits()).toBe(1);

    // A new key appears: within the cool-down it is not fetched, after it it is.
    state.body = { keys: [jwkOf(k1, 'k1'), jwkOf(k2, 'k2')] };
    const t2 = forge(
      { alg: 'ES256', kid: 'k2' },
      claims,
      k2.privateKey,
      'ES256',
    );
    expect(await code(verifier.verify(t2))).toBe(
      'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
    );
    expect(srv.hits()).toBe(1);
    await new Promise((r) => setTimeout(r, 450));
    expect((await verifier.verify(t2)).iss).toBe(ISS);
    expect(srv.hits()).toBe(2);
    expect(source.get('k1')).toBe(key); // same imported key object
    // A token whose kid is unusable (no alg) stays refused.
    const bad = forge(
      { alg: 'ES256', kid: 'no-alg' },
      claims,
      k2.privateKey,
      'ES256',
    );
    expect(await code(verifier.verify(bad))).toBe(
      'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
    );
  });

  it('a key withdrawn from the JWKS is dropped', async () => {
    const k1 = ec();
    const state: Jwks = { status: 200, body: { keys: [jwkOf(k1, 'k1')] } };
    const srv = await jwksServer(state);
    servers.push(srv.server);
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: srv.url,
      cooldownMs: 0,
    });
    await source.refresh();
    const key = source.get('k1')!;
    state.body = { keys: [] };
    await source.refresh();
    expect(source.get('k1')).toBeUndefined();
    expect(key.active).toBe(false);
  });

  it('times out, reports JWKS_UNAVAILABLE, and keeps the known keys on errors', async () => {
    const k1 = ec();
    const state: Jwks = { status: 200, body: { keys: [jwkOf(k1, 'k1')] } };
    const srv = await jwksServer(state);
    servers.push(srv.server);
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: srv.url,
      cooldownMs: 0,
      timeoutMs: 200,
    });
    await source.refresh();
    state.hang = true;
    expect(await code(source.refresh())).toBe(
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
    state.hang = false;
    state.status = 500;
    expect(await code(source.refresh())).toBe(
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
    state.status = 200;
    state.body = { nokeys: true };
    expect(await code(source.refresh())).toBe(
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
    expect(source.get('k1')?.kid).toBe('k1');
    srv.server.closeAllConnections();
  });

  it('refreshes a stale set in the background, honouring Cache-Control max-age', async () => {
    const k1 = ec();
    const state: Jwks = {
      status: 200,
      body: { keys: [jwkOf(k1, 'k1')] },
      cacheControl: 'max-age=0, must-revalidate',
    };
    const srv = await jwksServer(state);
    servers.push(srv.server);
    const source = new RemoteJwksKeySource({
      issuer: ISS,
      jwksUri: srv.url,
      cooldownMs: 100,
    });
    await source.refresh();
    expect(srv.hits()).toBe(1);
    await new Promise((r) => setTimeout(r, 150));
    expect(source.get('k1')).toBeDefined(); // served now, refreshed behind
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.hits()).toBe(2);
  });
});
