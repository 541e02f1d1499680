import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import {
  JwtIssuerModule,
  type RequiredScopes,
  type ServiceOAuth2ClientOptions,
  type ServiceTokenClaims,
  ServiceTokenGuard,
  ServiceTokenService,
  ServiceTokenVerifier,
} from '../lib/index.js';
import { JwsSigner } from '../lib/common/jws-signer.js';
import { compare } from './harness.js';

/** A server on 127.0.0.1 answering each path with a JSON document. */
async function jsonServer(
  documents: (base: string) => Record<string, unknown>,
): Promise<{ base: string; server: Server }> {
  let base = '';
  const server = createServer((req, res) => {
    const doc = documents(base)[new URL(req.url ?? '/', base).pathname];
    if (doc === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(doc));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, server };
}

/** Exposes the guard's scope step (the one `@RequireScopes` runs after the verification). */
class ScopeCheck extends ServiceTokenGuard {
  check(claims: ServiceTokenClaims, required: RequiredScopes): boolean {
    return this.hasScopes(claims, required);
  }
}

/**
 * Cache hits: a service token of an issuer with an explicit `jwksUri` (the baseline), against an RFC 9068 access
 * token of an `oauth2` issuer found by discovery, and the same with the `@RequireScopes` step.
 */
async function cacheHitBench(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  });
  const jwk = {
    ...publicKey.export({ format: 'jwk' }),
    kid: 'k1',
    alg: 'ES256',
    use: 'sig',
  };
  const { base, server } = await jsonServer((b) => ({
    '/service/jwks': { keys: [jwk] },
    '/idp/.well-known/openid-configuration': {
      issuer: `${b}/idp`,
      jwks_uri: `${b}/idp/jwks`,
    },
    '/idp/jwks': { keys: [jwk] },
  }));
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iat: now,
    exp: now + 3600,
    jti: '3f2c8a0e-4f5b-4c1e-9d8a-6a7b8c9d0e1f',
    scope: 'invoices:read invoices:write stock:read',
  };
  const serviceToken = new JwsSigner({
    algorithm: 'ES256',
    key: privateKey,
    kid: 'k1',
  }).sign({
    source: 'microservice',
    iss: 'https://orders.internal',
    sub: 'orders',
    aud: 'billing',
    ...claims,
  });
  const accessToken = new JwsSigner({
    algorithm: 'ES256',
    key: privateKey,
    header: { alg: 'ES256', typ: 'at+jwt', kid: 'k1' },
  }).sign({
    iss: `${base}/idp`,
    sub: 'orders',
    client_id: 'orders',
    aud: 'billing',
    ...claims,
  });
  const verifier = new ServiceTokenVerifier({
    expectedAudience: ['billing'],
    trustedIssuers: [
      {
        issuer: 'https://orders.internal',
        jwksUri: `${base}/service/jwks`,
      },
      { issuer: `${base}/idp`, profile: 'oauth2' },
    ],
  });
  // Keys fetched (the second through discovery), then each token seen twice: cached.
  for (const t of [serviceToken, accessToken, serviceToken, accessToken]) {
    await verifier.verify(t);
  }
  const scopes = new ScopeCheck(new Reflector(), verifier);
  const required: RequiredScopes = {
    mode: 'allOf',
    scopes: ['invoices:read'],
  };
  await compare(
    'Service token verify, cache hit: service profile against discovery + oauth2 profile (tokens/s)',
    [
      {
        name: 'service token, explicit jwksUri (baseline)',
        fn: () => verifier.verifySync(serviceToken),
      },
      {
        name: 'RFC 9068 access token, oauth2 issuer found by discovery',
        fn: () => verifier.verifySync(accessToken),
      },
      {
        name: 'the same + @RequireScopes check',
        fn: () => scopes.check(verifier.verifySync(accessToken), required),
      },
    ],
  );
  server.close();
}

async function serviceContext(
  oauth2?: ServiceOAuth2ClientOptions,
): Promise<INestApplicationContext> {
  @Module({
    imports: [
      JwtIssuerModule.forRoot({
        ignoreEnvVars: true,
        service: {
          name: 'orders',
          issuer: 'https://orders.internal',
          privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' })
            .privateKey,
          algorithm: 'ES256',
          ...(oauth2 ? { oauth2 } : {}),
        },
      }),
    ],
  })
  class BenchModule {}
  return NestFactory.createApplicationContext(BenchModule, { logger: false });
}

/** `authorizationHeader()`: a self-signed token (the baseline) against a token from a token endpoint, cached. */
async function outgoingTokenBench(): Promise<void> {
  const { base, server } = await jsonServer(() => ({
    '/token': {
      access_token: `eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.${'e'.repeat(300)}.${'s'.repeat(86)}`,
      token_type: 'Bearer',
      expires_in: 3600,
    },
  }));
  const selfSigned = await serviceContext();
  const fromEndpoint = await serviceContext({
    tokenEndpoint: `${base}/token`,
    clientId: 'orders',
    clientSecret: 'bench-secret',
    destinations: [
      { url: 'https://billing.internal', resource: 'https://billing.internal' },
      { url: 'https://stock.internal', resource: 'https://stock.internal' },
    ],
  });
  const own = selfSigned.get(ServiceTokenService);
  const oauth2 = fromEndpoint.get(ServiceTokenService);
  await oauth2.authorizationHeader();
  await oauth2.authorizationHeader('https://stock.internal/items');
  await compare(
    'ServiceTokenService.authorizationHeader(): self-signed against OAuth 2.0 client credentials, cached (calls/s)',
    [
      {
        name: 'self-signed service token (baseline)',
        fn: () => own.authorizationHeader(),
      },
      {
        name: 'token from the token endpoint (default destination)',
        fn: () => oauth2.authorizationHeader(),
      },
      {
        name: 'token from the token endpoint, per destination (URL matched)',
        fn: () => oauth2.authorizationHeader('https://stock.internal/items'),
      },
    ],
  );
  await selfSigned.close();
  await fromEndpoint.close();
  server.close();
}

export default async function (): Promise<void> {
  await cacheHitBench();
  await outgoingTokenBench();
}
