import 'reflect-metadata';
import type { Server } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forge, headerOf, payloadOf, rsaKeys } from '../support/forge.js';
import {
  LogCollector,
  type Platform,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

const M1_ISSUER = 'http://m1.test';
const now = (): number => Math.floor(Date.now() / 1000);
const m1Claims = (): Record<string, unknown> => ({
  source: 'microservice',
  iss: M1_ISSUER,
  sub: 'm1',
  aud: 'm2',
  iat: now(),
  exp: now() + 60,
});

const logs = new LogCollector();

describe.each<Platform>(['express', 'fastify'])(
  'M1 → M2 over HTTP, M2 on %s',
  (platform) => {
    const keys = rsaKeys();
    const peer = { url: '' };
    let m1: RunningApp;
    let m2: RunningApp;
    let token: string;
    let staticKid: string;
    const issued: string[] = [];

    beforeAll(async () => {
      m1 = await startServiceApp(
        {
          name: 'm1',
          issuer: M1_ISSUER,
          privateKey: keys.privatePem,
          audience: 'm2',
        },
        {
          peer,
          logger: logs,
          platform: platform === 'express' ? 'fastify' : 'express',
        },
      );
      m2 = await startServiceApp(
        {
          name: 'm2',
          issuer: 'http://m2.test',
          expectedAudience: ['m2'],
          trustedIssuers: [
            { issuer: M1_ISSUER, jwksUri: `${m1.url}/.well-known/jwks.json` },
          ],
          jwksCooldown: 0.2,
          // Every refusal of this spec logged in detail (the bound has its own spec).
          refusalLogLines: 1000,
        },
        { platform, logger: logs },
      );
      peer.url = m2.url;
      token = await m1.service.getToken();
      staticKid = headerOf(token).kid as string;
      issued.push(token);
    });
    afterAll(async () => {
      await m2?.app.close();
      await m1?.app.close();
    });

    async function callM2(authorization?: string) {
      const res = await fetch(`${m2.url}/internal/whoami`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      return {
        status: res.status,
        www: res.headers.get('www-authenticate'),
        body: (await res.json()) as unknown,
      };
    }

    it('M1 calls M2 with its own token: 200, claims through @ServiceClaims', async () => {
      const res = await fetch(`${m1.url}/call-m2`);
      const out = (await res.json()) as {
        status: number;
        body: { sub: string; claims: Record<string, unknown> };
      };
      expect(out.status).toBe(200);
      expect(out.body.sub).toBe('m1');
      expect(out.body.claims).toMatchObject({
        source: 'microservice',
        iss: M1_ISSUER,
        sub: 'm1',
        aud: 'm2',
      });
      expect(typeof out.body.claims.jti).toBe('string');
      expect(
        (out.body.claims.exp as number) - (out.body.claims.iat as number),
      ).toBe(3600);
      expect(staticKid).toMatch(/^s-[A-Za-z0-9_-]{43}$/);
    });

    it('the same token passes again (served from the verified cache) and the route stays open without the guard', async () => {
      expect((await callM2(`Bearer ${token}`)).status).toBe(200);
      expect((await callM2(`bearer   ${token}`)).status).toBe(200);
      const open = await fetch(`${m2.url}/internal/open`);
      expect(await open.text()).toBe('open');
    });

    const refusals: [string, string, () => Promise<string | undefined>][] = [
      ['no token', 'TOKEN_MISSING', async () => undefined],
      ['a Basic header', 'TOKEN_MISSING', async () => 'Basic dXNlcjpwYXNz'],
      [
        'an end-user token without source',
        'TOKEN_CLAIM_INVALID',
        async () =>
          `Bearer ${await m1.service.createJwt({ sub: 'alice', aud: 'm2' })}`,
      ],
      [
        'source other than microservice',
        'TOKEN_CLAIM_INVALID',
        async () =>
          `Bearer ${await m1.service.createJwt({ source: 'user', aud: 'm2' })}`,
      ],
      [
        'a tampered payload',
        'TOKEN_SIGNATURE_INVALID',
        async () => {
          const [h, , s] = token.split('.');
          const p = Buffer.from(
            JSON.stringify({ ...payloadOf(token), sub: 'admin' }),
          ).toString('base64url');
          return `Bearer ${h}.${p}.${s}`;
        },
      ],
      [
        'a tampered signature',
        'TOKEN_SIGNATURE_INVALID',
        async () =>
          `Bearer ${token.slice(0, -6)}${token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`,
      ],
      [
        'an expired token',
        'TOKEN_EXPIRED',
        async () =>
          `Bearer ${forge({ alg: 'RS256', kid: staticKid }, { ...m1Claims(), iat: now() - 120, exp: now() - 60 }, keys.privateKey)}`,
      ],
      [
        'a token not valid yet',
        'TOKEN_NOT_YET_VALID',
        async () =>
          `Bearer ${forge({ alg: 'RS256', kid: staticKid }, { ...m1Claims(), nbf: now() + 600 }, keys.privateKey)}`,
      ],
      [
        'a wrong issuer',
        'TOKEN_CLAIM_INVALID',
        async () =>
          `Bearer ${await m1.service.createJwt({ source: 'microservice', iss: 'http://evil.test', aud: 'm2' })}`,
      ],
      [
        'a wrong audience',
        'TOKEN_CLAIM_INVALID',
        async () =>
          `Bearer ${await m1.service.createJwt({ source: 'microservice', aud: 'm3' })}`,
      ],
      [
        'an unknown kid',
        'TOKEN_KEY_UNKNOWN',
        async () => {
          const other = generateKeyPairSync('rsa', {
            modulusLength: 2048,
          }).privateKey;
          return `Bearer ${forge({ alg: 'RS256', kid: 'd-1' }, m1Claims(), other)}`;
        },
      ],
      [
        'alg none',
        'TOKEN_HEADER_REFUSED',
        async () =>
          `Bearer ${forge({ alg: 'none', kid: staticKid }, m1Claims(), undefined, 'none')}`,
      ],
      [
        'alg none with a signature segment',
        'TOKEN_HEADER_REFUSED',
        async () =>
          `Bearer ${forge({ alg: 'none', kid: staticKid }, m1Claims(), undefined, 'none')}AAAA`,
      ],
      [
        'HS256 with the public key as the secret',
        'TOKEN_HEADER_REFUSED',
        async () =>
          `Bearer ${forge({ alg: 'HS256', kid: staticKid }, m1Claims(), Buffer.from(keys.publicPem), 'HS256')}`,
      ],
      [
        'ES256 header on the RS256 key',
        'TOKEN_HEADER_REFUSED',
        async () => {
          const ec = generateKeyPairSync('ec', {
            namedCurve: 'P-256',
          }).privateKey;
          return `Bearer ${forge({ alg: 'ES256', kid: staticKid }, m1Claims(), ec, 'ES256')}`;
        },
      ],
      [
        'PS256 header with a valid RSA key',
        'TOKEN_HEADER_REFUSED',
        async () =>
          `Bearer ${forge({ alg: 'PS256', kid: staticKid }, m1Claims(), keys.privateKey)}`,
      ],
      [
        'a crit header',
        'TOKEN_HEADER_REFUSED',
        async () =>
          `Bearer ${forge({ alg: 'RS256', kid: staticKid, crit: ['exp'], exp: 1 }, m1Claims(), keys.privateKey)}`,
      ],
      [
        'jku pointing elsewhere',
        'TOKEN_HEADER_REFUSED',
        async () => {
          const evil = generateKeyPairSync('rsa', {
            modulusLength: 2048,
          }).privateKey;
          return `Bearer ${forge({ alg: 'RS256', kid: staticKid, jku: 'http://127.0.0.1:1/jwks.json' }, m1Claims(), evil)}`;
        },
      ],
      [
        'x5u pointing elsewhere',
        'TOKEN_HEADER_REFUSED',
        async () =>
          `Bearer ${forge({ alg: 'RS256', kid: staticKid, x5u: 'http://127.0.0.1:1/cert.pem' }, m1Claims(), keys.privateKey)}`,
      ],
      [
        'an embedded jwk',
        'TOKEN_HEADER_REFUSED',
        async () => {
          const evil = generateKeyPairSync('rsa', { modulusLength: 2048 });
          const jwk = evil.publicKey.export({ format: 'jwk' });
          return `Bearer ${forge({ alg: 'RS256', kid: staticKid, jwk }, m1Claims(), evil.privateKey)}`;
        },
      ],
      [
        'an oversized token',
        'TOKEN_TOO_LARGE',
        async () => `Bearer ${'a'.repeat(9000)}.b.c`,
      ],
      [
        'malformed base64url',
        'TOKEN_MALFORMED',
        async () =>
          `Bearer ${token.split('.')[0]}.eyJzb3VyY2Ui*.${token.split('.')[2]}`,
      ],
      [
        'a payload that is not JSON',
        'TOKEN_MALFORMED',
        async () => {
          const [h, , s] = token.split('.');
          return `Bearer ${h}.${Buffer.from('not json').toString('base64url')}.${s}`;
        },
      ],
      [
        'two segments',
        'TOKEN_MALFORMED',
        async () => `Bearer ${token.split('.').slice(0, 2).join('.')}`,
      ],
      ['four segments', 'TOKEN_MALFORMED', async () => `Bearer ${token}.AAAA`],
    ];

    it.each(refusals)(
      '401 for %s (%s), with WWW-Authenticate and a body that says nothing',
      async (_name, code, make) => {
        const before = logs.lines.length;
        const res = await callM2(await make());
        const logged = logs.lines
          .slice(before)
          .filter((l) => l.includes('Refused service token'));
        expect(logged).toHaveLength(1);
        expect(logged[0]).toContain(`ERR_JWT_ISSUER_${code}`);
        expect(res.status).toBe(401);
        // No token presented (none, or another scheme): RFC 6750 §3.1, no error code.
        expect(res.www).toBe(
          code === 'TOKEN_MISSING' ? 'Bearer' : 'Bearer error="invalid_token"',
        );
        expect(res.body).toEqual({ statusCode: 401, message: 'Unauthorized' });
      },
    );

    it('logs each refusal reason, and never a token', () => {
      const refused = logs.lines.filter((l) =>
        l.includes('Refused service token'),
      );
      expect(refused.length).toBeGreaterThanOrEqual(refusals.length);
      const all = logs.lines.join('\n');
      for (const code of [
        'TOKEN_MISSING',
        'TOKEN_CLAIM_INVALID',
        'TOKEN_SIGNATURE_INVALID',
        'TOKEN_EXPIRED',
        'TOKEN_NOT_YET_VALID',
        'TOKEN_KEY_UNKNOWN',
        'TOKEN_HEADER_REFUSED',
        'TOKEN_TOO_LARGE',
        'TOKEN_MALFORMED',
      ]) {
        expect(all).toContain(`ERR_JWT_ISSUER_${code}`);
      }
      for (const t of issued) expect(all).not.toContain(t.split('.')[2]);
      expect(all).not.toContain(token.split('.')[1]);
      expect(all).not.toContain('PRIVATE KEY');
    });

    it('tokens M1 issues verify with jose jwtVerify + createRemoteJWKSet against the served JWKS', async () => {
      const jwks = createRemoteJWKSet(
        new URL(`${m1.url}/.well-known/jwks.json`),
      );
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: M1_ISSUER,
        audience: 'm2',
      });
      expect(payload).toMatchObject({ source: 'microservice', sub: 'm1' });
      expect(protectedHeader).toMatchObject({
        alg: 'RS256',
        kid: staticKid,
        typ: 'JWT',
      });
      const custom = await m1.service.createJwt(
        { source: 'microservice', scope: 'x' },
        { validitySeconds: 30 },
      );
      expect(
        (await jwtVerify(custom, jwks, { issuer: M1_ISSUER })).payload.scope,
      ).toBe('x');
    });

    it('serves the JWKS and the OpenID configuration with Cache-Control', async () => {
      const res = await fetch(`${m1.url}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toMatch(
        /^max-age=\d+, must-revalidate$/,
      );
      const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({
        kty: 'RSA',
        alg: 'RS256',
        use: 'sig',
        kid: staticKid,
      });
      expect(jwks.keys[0]).not.toHaveProperty('d');
      const oidc = (await (
        await fetch(`${m1.url}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      expect(oidc).toMatchObject({
        issuer: M1_ISSUER,
        jwks_uri: `${M1_ISSUER}/.well-known/jwks.json`,
      });
    });
  },
);

describe('rotation and an unreachable JWKS', () => {
  let m1: RunningApp;
  let m2: RunningApp;
  const peer = { url: '' };

  afterAll(async () => {
    await m2?.app.close();
    await m1?.app.close();
  });

  it('rotating M1’s dynamic keys while M1 calls M2 continuously causes zero failed calls', async () => {
    m1 = await startServiceApp(
      {
        name: 'm1',
        issuer: M1_ISSUER,
        algorithm: 'ES256',
        rotationInterval: 1,
        jwksCooldown: 0.2, // the lead a 1 s rotation gives verifiers like M2
        tokenValidity: 60,
      },
      { peer, logger: logs },
    );
    m2 = await startServiceApp(
      {
        name: 'm2',
        issuer: 'http://m2.test',
        trustedIssuers: [
          { issuer: M1_ISSUER, jwksUri: `${m1.url}/.well-known/jwks.json` },
        ],
        jwksCooldown: 0.2,
      },
      { peer, logger: logs, platform: 'fastify' },
    );
    peer.url = m2.url;
    const kids = new Set<string>();
    let ok = 0;
    const failures: unknown[] = [];
    const until = Date.now() + 3500;
    const loop = async () => {
      while (Date.now() < until) {
        const out = (await (await fetch(`${m1.url}/call-m2`)).json()) as {
          status: number;
          body: unknown;
        };
        if (out.status === 200) ok++;
        else failures.push(out);
        kids.add(headerOf(await m1.service.getToken()).kid as string);
      }
    };
    await Promise.all([loop(), loop(), loop()]);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(10);
    // The timer rotated at least twice: three dynamic kids were used.
    expect(
      [...kids].filter((k) => k.startsWith('d-')).length,
    ).toBeGreaterThanOrEqual(3);
    const res = await fetch(`${m1.url}/.well-known/jwks.json`);
    const maxAge = Number(
      /max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1],
    );
    expect(maxAge).toBeLessThanOrEqual(1);
  });

  it('with M1’s JWKS endpoint down, M2 keeps known keys, refuses unknown ones, and recovers when it is back', async () => {
    await m2.app.close();
    await m1.app.close();
    m1 = await startServiceApp(
      { name: 'm1', issuer: M1_ISSUER, rotationInterval: 3600 },
      { peer, logger: logs },
    );
    m2 = await startServiceApp(
      {
        name: 'm2',
        issuer: 'http://m2.test',
        trustedIssuers: [
          { issuer: M1_ISSUER, jwksUri: `${m1.url}/.well-known/jwks.json` },
        ],
        jwksCooldown: 0.2,
        verifiedCacheSize: 0,
      },
      { peer, logger: logs },
    );
    const call = async () =>
      (
        await fetch(`${m2.url}/internal/whoami`, {
          headers: { authorization: await m1.service.authorizationHeader() },
        })
      ).status;
    expect(await call()).toBe(200);
    const staticToken = await m1.service.createJwt({ source: 'microservice' });
    const callWith = async (t: string) =>
      (
        await fetch(`${m2.url}/internal/whoami`, {
          headers: { authorization: `Bearer ${t}` },
        })
      ).status;
    expect(await callWith(staticToken)).toBe(200);

    // Down: the HTTP server of M1 stops (M1 still signs in-process).
    const server = m1.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await new Promise((r) => setTimeout(r, 300)); // past M2's cool-down
    expect(await call()).toBe(200); // known dynamic key
    expect(await callWith(staticToken)).toBe(200); // known static key
    await m1.service.rotateKeys();
    await m1.service.rotateKeys(); // now signs with a key M2 never saw
    expect(await call()).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(await call()).toBe(401);
    expect(await callWith(staticToken)).toBe(200); // the failed refetches dropped nothing
    expect(logs.lines.join('\n')).toContain('ERR_JWT_ISSUER_JWKS_UNAVAILABLE');

    // Back up on the same port.
    await new Promise<void>((resolve) =>
      server.listen(m1.port, '127.0.0.1', () => resolve()),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(await call()).toBe(200);
  });
});
