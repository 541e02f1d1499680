import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LogCollector,
  type Platform,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

describe.each<Platform>(['express', 'fastify'])(
  'ServiceTokenGuard as a global guard on %s',
  (platform) => {
    let app: RunningApp;
    const logs = new LogCollector();
    beforeAll(async () => {
      app = await startServiceApp(
        {
          name: 'self',
          issuer: 'http://self.test',
          algorithm: 'EdDSA',
          jwksPath: '/auth/jwt/jwks.json',
        },
        { platform, globalGuard: true, logger: logs },
      );
    });
    afterAll(async () => {
      await app?.app.close();
    });

    it('protects every route, accepting the service’s own token', async () => {
      const res = await fetch(`${app.url}/global/protected`, {
        headers: { authorization: await app.service.authorizationHeader() },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ sub: 'self' });
      const refused = await fetch(`${app.url}/global/protected`);
      expect(refused.status).toBe(401);
      // No token presented: RFC 6750 §3.1, no error code.
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('@SkipServiceAuth() opts a route or a controller out', async () => {
      expect((await fetch(`${app.url}/global/health`)).status).toBe(200);
      expect((await fetch(`${app.url}/public/ping`)).status).toBe(200);
    });

    it('the JWKS route (custom path) is public and served before the 404 handler', async () => {
      const res = await fetch(`${app.url}/auth/jwt/jwks.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe(
        'max-age=3600, must-revalidate',
      );
      const { keys } = (await res.json()) as {
        keys: { kty: string; crv: string; alg: string }[];
      };
      expect(keys[0]).toMatchObject({
        kty: 'OKP',
        crv: 'Ed25519',
        alg: 'EdDSA',
      });
      expect((await fetch(`${app.url}/.well-known/jwks.json`)).status).toBe(
        404,
      ); // only the configured path is served
      const oidc = (await (
        await fetch(`${app.url}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      expect(oidc.jwks_uri).toBe('http://self.test/auth/jwt/jwks.json');
    });
  },
);
