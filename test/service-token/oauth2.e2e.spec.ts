import 'reflect-metadata';
import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createServiceTokenFetch,
  RequireScopes,
  type ServiceCaller,
  ServiceClaims,
  ServiceTokenGuard,
  ServiceTokenService,
  ServiceTokenVerifier,
} from '../../lib/index.js';
import {
  type AuthorizationServer,
  type AuthorizationServerConfig,
  authorizationServer,
  signingJwk,
} from '../support/authorization-server.js';
import { forge, headerOf, payloadOf } from '../support/forge.js';
import {
  LogCollector,
  PEER,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

const M2_RESOURCE = 'http://m2.test';
const OTHER_RESOURCE = 'http://other.test';
const SHORT_RESOURCE = 'http://short.test';
const BASIC_SECRET = 'basic-s3cr3t-never-logged';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** M2: a resource server whose routes require scopes. */
@Controller('internal')
class ResourceController {
  @UseGuards(ServiceTokenGuard)
  @RequireScopes(['invoices:read'])
  @Get('invoices')
  invoices(@ServiceClaims('caller') caller: ServiceCaller) {
    return { caller };
  }

  @UseGuards(ServiceTokenGuard)
  @RequireScopes({ allOf: ['invoices:read', 'invoices:write'] })
  @Get('write')
  write(@ServiceClaims('caller') caller: ServiceCaller) {
    return { caller };
  }

  @UseGuards(ServiceTokenGuard)
  @RequireScopes({ anyOf: ['invoices:write', 'invoices:admin'] })
  @Get('any')
  any(@ServiceClaims('caller') caller: ServiceCaller) {
    return { caller };
  }
}

/** M1: calls M2 with the token its authorization server gave it (through the public fetch helper). */
@Controller()
class CallerController {
  constructor(
    private readonly tokens: ServiceTokenService,
    @Inject(PEER) private readonly peer: { url: string },
  ) {}

  @Get('call')
  async call(@Query('path') path: string) {
    // M2's URL is known once it listens (after M1 started).
    const internalFetch = createServiceTokenFetch(this.tokens, {
      internal: [this.peer.url],
    });
    const res = await internalFetch(`${this.peer.url}${path}`);
    return {
      status: res.status,
      wwwAuthenticate: res.headers.get('www-authenticate'),
      body: await res.json(),
    };
  }
}

function config(
  keys: Record<string, unknown>[],
  m1JwksUri: string,
): AuthorizationServerConfig {
  return {
    keys,
    clients: [
      {
        client_id: 'm1-basic',
        client_secret: BASIC_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'invoices:read',
      },
      {
        client_id: 'm1-jwt',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        // RFC 7523: the provider fetches M1's own published JWKS to check the assertion.
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'RS256',
        jwks_uri: m1JwksUri,
        scope: 'invoices:read invoices:write',
      },
      {
        client_id: 'm1-short',
        client_secret: BASIC_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'invoices:read',
      },
    ],
    resources: {
      [M2_RESOURCE]: { scope: 'invoices:read invoices:write invoices:admin' },
      [OTHER_RESOURCE]: { scope: 'invoices:read invoices:write' },
      [SHORT_RESOURCE]: { scope: 'invoices:read', ttl: 4 },
    },
  };
}

/** M1's `/call` route: what M2 answered M1. */
async function viaM1(m1: RunningApp, path: string) {
  return (await (await fetch(`${m1.url}/call?path=${path}`)).json()) as {
    status: number;
    wwwAuthenticate: string | null;
    body: { caller?: ServiceCaller };
  };
}

/** Retries `f` until it resolves (M1 asked before its authorization server was up: back-off of 1 s, 2 s…). */
async function eventually<T>(f: () => Promise<T>, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > until) throw e;
      await sleep(100);
    }
  }
}

describe('OAuth 2.0 client credentials: M1 gets its token from a real authorization server (oidc-provider), M2 verifies it through discovery', () => {
  const logs = new LogCollector();
  const k1 = signingJwk('ES256', 'as-key-1');
  const k2 = signingJwk('ES256', 'as-key-2');
  const peer = { url: '' };
  let as: AuthorizationServer;
  let m1Basic: RunningApp;
  let m1Jwt: RunningApp;
  let m2: RunningApp;
  let m1Short: RunningApp;

  beforeAll(async () => {
    as = await authorizationServer();
    const oauth2 = {
      issuer: as.issuer,
      scope: ['invoices:read'],
      resource: M2_RESOURCE,
      timeout: 2,
    };
    m1Basic = await startServiceApp(
      {
        name: 'm1-basic',
        issuer: 'http://m1-basic.test',
        oauth2: { ...oauth2, clientId: 'm1-basic', clientSecret: BASIC_SECRET },
      },
      { peer, logger: logs, controllers: [CallerController] },
    );
    m1Jwt = await startServiceApp(
      {
        name: 'm1-jwt',
        issuer: 'http://m1-jwt.test',
        algorithm: 'RS256',
        oauth2: {
          ...oauth2,
          clientId: 'm1-jwt',
          clientAuth: 'private_key_jwt',
          scope: ['invoices:read', 'invoices:write'],
          destinations: [
            { url: 'http://127.0.0.1:9/other', resource: OTHER_RESOURCE },
          ],
        },
      },
      { peer, logger: logs, controllers: [CallerController] },
    );
    await as.start(config([k1.jwk], `${m1Jwt.url}/.well-known/jwks.json`));
    m2 = await startServiceApp(
      {
        // Verify only: a resource server that trusts the identity provider, found by its issuer URL alone.
        trustedIssuers: [
          { issuer: as.issuer, profile: 'oauth2', audience: M2_RESOURCE },
        ],
        jwksCooldown: 0.2,
        refusalLogLines: 1000,
      },
      { logger: logs, controllers: [ResourceController] },
    );
    peer.url = m2.url;
    m1Short = await startServiceApp(
      {
        name: 'm1-short',
        issuer: 'http://m1-short.test',
        oauth2: {
          issuer: as.issuer,
          clientId: 'm1-short',
          clientSecret: BASIC_SECRET,
          resource: SHORT_RESOURCE,
          destinations: [
            { url: 'http://127.0.0.1:9/a', resource: SHORT_RESOURCE },
            { url: 'http://127.0.0.1:9/b', resource: M2_RESOURCE },
          ],
        },
      },
      { logger: logs, controllers: [CallerController] },
    );
    // Both M1s asked at start-up, before the provider was up: they get a token once their back-off has passed.
    await eventually(() => m1Basic.service.getToken());
    await eventually(() => m1Jwt.service.getToken());
  }, 60_000);
  afterAll(async () => {
    await m2?.app.close();
    await m1Basic?.app.close();
    await m1Jwt?.app.close();
    await m1Short?.app.close();
    await as?.stop();
  });

  const issued = () => as.log().match(/^issued m1-short$/gm)?.length ?? 0;
  const direct = async (token: string, path = '/internal/invoices') => {
    const res = await fetch(`${m2.url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return {
      status: res.status,
      wwwAuthenticate: res.headers.get('www-authenticate'),
    };
  };

  it('client_secret_basic: M1 obtains an RFC 9068 access token and calls M2, which verifies it through discovery', async () => {
    const token = await m1Basic.service.getToken();
    expect(headerOf(token)).toMatchObject({ typ: 'at+jwt', kid: 'as-key-1' });
    expect(payloadOf(token)).toMatchObject({
      iss: as.issuer,
      aud: M2_RESOURCE,
      client_id: 'm1-basic',
      scope: 'invoices:read',
    });
    // jose, the independent oracle, accepts the same token with the provider's JWKS.
    const discovery = (await (
      await fetch(`${as.issuer}/.well-known/openid-configuration`)
    ).json()) as { jwks_uri: string };
    await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: as.issuer,
      audience: M2_RESOURCE,
      typ: 'at+jwt',
    });
    const r = await viaM1(m1Basic, '/internal/invoices');
    expect(r.status).toBe(200);
    expect(r.body.caller).toEqual({ issuer: as.issuer, subject: 'm1-basic' });
  });

  it('a service that only calls others (service.oauth2 with a client secret, nothing to sign) works the same', async () => {
    const m1Lean = await startServiceApp(
      {
        oauth2: {
          issuer: as.issuer,
          clientId: 'm1-basic',
          clientSecret: BASIC_SECRET,
          scope: 'invoices:read',
          resource: M2_RESOURCE,
        },
      },
      { peer, logger: logs, controllers: [CallerController] },
    );
    try {
      const r = await viaM1(m1Lean, '/internal/invoices');
      expect(r.status).toBe(200);
      expect(r.body.caller).toEqual({ issuer: as.issuer, subject: 'm1-basic' });
      // It publishes no JWKS and signs nothing.
      expect((await fetch(`${m1Lean.url}/.well-known/jwks.json`)).status).toBe(
        404,
      );
      await expect(
        Promise.resolve().then(() => m1Lean.service.createJwt({})),
      ).rejects.toMatchObject({
        code: 'ERR_JWT_ISSUER_NOT_CONFIGURED',
        message: expect.stringContaining('service.oauth2'),
      });
    } finally {
      await m1Lean.app.close();
    }
  });

  it('private_key_jwt: the assertion is signed with M1’s own key, which the provider reads from M1’s published JWKS', async () => {
    const r = await viaM1(m1Jwt, '/internal/write');
    expect(r.status).toBe(200);
    expect(r.body.caller).toEqual({ issuer: as.issuer, subject: 'm1-jwt' });
    expect((await viaM1(m1Jwt, '/internal/any')).status).toBe(200);
  });

  it('a missing scope is 403 with WWW-Authenticate: Bearer error="insufficient_scope", scope="…" (all of / any of)', async () => {
    const all = await viaM1(m1Basic, '/internal/write');
    expect(all.status).toBe(403);
    expect(all.wwwAuthenticate).toBe(
      'Bearer error="insufficient_scope", scope="invoices:read invoices:write"',
    );
    const any = await viaM1(m1Basic, '/internal/any');
    expect(any.status).toBe(403);
    expect(any.wwwAuthenticate).toBe(
      'Bearer error="insufficient_scope", scope="invoices:write invoices:admin"',
    );
  });

  it('a token for another resource (audience) is 401, whatever its scopes', async () => {
    // M1's per-destination token (RFC 8707 resource) is meant for another API.
    const other = await m1Jwt.service.getToken('http://127.0.0.1:9/other/x');
    expect(payloadOf(other).aud).toBe(OTHER_RESOURCE);
    expect(other).not.toBe(await m1Jwt.service.getToken());
    const r = await direct(other);
    expect(r.status).toBe(401);
    expect(r.wwwAuthenticate).toBe('Bearer error="invalid_token"');
    expect(logs.lines.join('\n')).toContain(
      'the token is not meant for this audience',
    );
  });

  it('refuses what is not an access token of that provider: no client_id, a typ other than at+jwt, a service token', async () => {
    // Signed with the provider's real key (as M2 knows it): only the profile refuses these.
    const key = (await import('node:crypto')).createPrivateKey({
      key: k1.jwk as never,
      format: 'jwk',
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: as.issuer,
      aud: M2_RESOURCE,
      sub: 'x',
      client_id: 'x',
      scope: 'invoices:read',
      iat: now,
      exp: now + 60,
    };
    const ok = forge(
      { alg: 'ES256', kid: 'as-key-1', typ: 'at+jwt' },
      claims,
      key,
      'ES256',
    );
    expect((await direct(ok)).status).toBe(200);
    const idToken = forge(
      { alg: 'ES256', kid: 'as-key-1', typ: 'JWT' },
      claims,
      key,
      'ES256',
    );
    expect((await direct(idToken)).status).toBe(401);
    // An identity provider whose access tokens say typ JWT (Keycloak, Entra) is accepted once declared so.
    const lenient = new ServiceTokenVerifier({
      trustedIssuers: [
        {
          issuer: as.issuer,
          profile: 'oauth2',
          audience: M2_RESOURCE,
          accessTokenTypes: ['at+jwt', 'JWT'],
        },
      ],
    });
    await expect(lenient.verify(idToken)).resolves.toMatchObject({
      client_id: 'x',
    });
    const { client_id: _, ...noClient } = claims;
    void _;
    const anonymous = forge(
      { alg: 'ES256', kid: 'as-key-1', typ: 'at+jwt' },
      noClient,
      key,
      'ES256',
    );
    expect((await direct(anonymous)).status).toBe(401);
    const text = logs.lines.join('\n');
    expect(text).toContain(
      "typ 'JWT' is not accepted for this issuer (at+jwt, application/at+jwt)",
    );
    expect(text).toContain("the token has no 'client_id'");
  });

  it('one request in flight per destination, however many callers; renewed in the background before exp', async () => {
    await eventually(() => m1Short.service.getToken());
    const before = issued();
    // 50 concurrent first calls for destination a: one token request, one token for all of them.
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () =>
        m1Short.service.getToken('http://127.0.0.1:9/a/x'),
      ),
    );
    expect(new Set(tokens).size).toBe(1);
    expect(issued()).toBe(before + 1);
    // Destination b has its own token (another resource); the others are untouched.
    const b = await m1Short.service.getToken('http://127.0.0.1:9/b');
    expect(payloadOf(b).aud).toBe(M2_RESOURCE);
    expect(issued()).toBe(before + 2);
    // Served from memory until 75 % of its 4 s lifetime; then the same token comes back at once while one renewal runs.
    const first = tokens[0];
    expect(await m1Short.service.getToken('http://127.0.0.1:9/a')).toBe(first);
    expect(issued()).toBe(before + 2);
    await sleep(3100);
    const during = await Promise.all(
      Array.from({ length: 20 }, () =>
        m1Short.service.getToken('http://127.0.0.1:9/a'),
      ),
    );
    expect(new Set(during)).toEqual(new Set([first]));
    await eventually(async () => {
      const renewed = await m1Short.service.getToken('http://127.0.0.1:9/a');
      if (renewed === first) throw new Error('not renewed yet');
      return renewed;
    }, 2000);
    expect(issued()).toBe(before + 3);
    expect(
      await m1Short.service.authorizationHeader('http://127.0.0.1:9/a'),
    ).toBe(`Bearer ${await m1Short.service.getToken('http://127.0.0.1:9/a')}`);
  });

  it('the provider rotates its key: M2 fetches the new JWKS on the unknown kid; tokens of the old key still pass', async () => {
    const before = await m1Basic.service.getToken();
    await as.start(
      config([k2.jwk, k1.jwk], `${m1Jwt.url}/.well-known/jwks.json`),
    );
    const rotated = await as.requestToken('m1-basic', BASIC_SECRET, {
      resource: M2_RESOURCE,
      scope: 'invoices:read',
    });
    expect(headerOf(rotated).kid).toBe('as-key-2');
    expect((await direct(rotated)).status).toBe(200);
    expect(headerOf(before).kid).toBe('as-key-1');
    expect((await direct(before)).status).toBe(200);
  });

  it('the provider goes down: M2 keeps accepting tokens of known keys (never seen before), M1 keeps its cached token', async () => {
    const fresh = await as.requestToken('m1-basic', BASIC_SECRET, {
      resource: M2_RESOURCE,
      scope: 'invoices:read',
    });
    await as.stop();
    // First sight at M2 after the provider is gone: verified with the key it already has.
    expect((await direct(fresh)).status).toBe(200);
    expect((await viaM1(m1Basic, '/internal/invoices')).status).toBe(200);
    // A token of a key M2 does not know is refused at once (the JWKS cannot be fetched), not hung.
    const started = performance.now();
    const unknown = forge(
      { alg: 'ES256', kid: 'as-key-3', typ: 'at+jwt' },
      payloadOf(fresh),
      (await import('node:crypto')).generateKeyPairSync('ec', {
        namedCurve: 'P-256',
      }).privateKey,
      'ES256',
    );
    expect((await direct(unknown)).status).toBe(401);
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it('never logs the client secret, an assertion or a token', async () => {
    const text = logs.lines.join('\n');
    expect(text).not.toContain(BASIC_SECRET);
    expect(text).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}/);
  });
});
