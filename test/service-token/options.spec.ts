import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { readJwtIssuerEnv } from '../../lib/jwt-issuer.capabilities.js';
import { resolveJwtIssuerOptions } from '../../lib/jwt-issuer.capabilities.js';
import {
  JwtIssuerModule,
  type JwtIssuerConfigError,
  type JwtIssuerModuleOptions,
} from '../../lib/index.js';
import { LogCollector } from '../support/service-token-apps.js';
import { rsaKeys } from '../support/forge.js';

const resolve = (
  options: JwtIssuerModuleOptions,
  env: Record<string, string> = {},
  production = false,
) => {
  const logger = new LogCollector();
  return {
    logger,
    result: resolveJwtIssuerOptions(options, readJwtIssuerEnv(env), {
      production,
      logger,
    }),
  };
};
const problemsOf = async (p: Promise<unknown>) => {
  const e = (await p.catch((x: unknown) => x)) as JwtIssuerConfigError;
  expect(e.code).toBe('ERR_JWT_ISSUER_CONFIG_INVALID');
  return e;
};

describe('service options', () => {
  it('reads every option from JWT_ISSUER_SERVICE_* variables', async () => {
    const keys = rsaKeys();
    const file = join(tmpdir(), `svc-key-${process.pid}.pem`);
    writeFileSync(file, keys.privatePem);
    const { result } = resolve(
      {},
      {
        JWT_ISSUER_SERVICE_NAME: 'orders',
        JWT_ISSUER_SERVICE_ISSUER: 'https://orders.test',
        JWT_ISSUER_SERVICE_AUDIENCE: 'billing, stock',
        JWT_ISSUER_SERVICE_EXPECTED_AUDIENCE: 'orders',
        JWT_ISSUER_SERVICE_ALGORITHM: 'RS256',
        JWT_ISSUER_SERVICE_PRIVATE_KEY: file,
        JWT_ISSUER_SERVICE_TOKEN_VALIDITY: '600',
        JWT_ISSUER_SERVICE_ROTATION_INTERVAL: '86400',
        JWT_ISSUER_SERVICE_PUBLISH_JWKS: 'false',
        JWT_ISSUER_SERVICE_JWKS_PATH: '/auth/jwt/jwks.json',
        JWT_ISSUER_SERVICE_OPENID_CONFIGURATION_PATH:
          '/auth/.well-known/openid-configuration',
        JWT_ISSUER_SERVICE_TRUSTED_ISSUERS:
          '[{"issuer":"https://billing.test","jwksUri":"https://billing.test/jwks.json"}]',
        JWT_ISSUER_SERVICE_ACCEPT_OWN_TOKENS: 'false',
        JWT_ISSUER_SERVICE_CLOCK_TOLERANCE: '2',
        JWT_ISSUER_SERVICE_MAX_TOKEN_BYTES: '4096',
        JWT_ISSUER_SERVICE_VERIFIED_CACHE_SIZE: '50',
        JWT_ISSUER_SERVICE_JWKS_TIMEOUT: '2',
        JWT_ISSUER_SERVICE_JWKS_COOLDOWN: '10',
        JWT_ISSUER_SERVICE_JWKS_CACHE_MAX_AGE: '120',
      },
    );
    const s = (await result).service!.signing!;
    expect(s).toMatchObject({
      name: 'orders',
      issuer: 'https://orders.test',
      audience: ['billing', 'stock'],
      expectedAudience: ['orders'],
      algorithm: 'RS256',
      developmentKey: false,
      tokenValidity: 600,
      rotationInterval: 86400,
      publishJwks: false,
      jwksPath: '/auth/jwt/jwks.json',
      openidConfigurationPath: '/auth/.well-known/openid-configuration',
      trustedIssuers: [
        {
          issuer: 'https://billing.test',
          jwksUri: 'https://billing.test/jwks.json',
        },
      ],
      acceptOwnTokens: false,
      clockTolerance: 2,
      maxTokenBytes: 4096,
      verifiedCacheSize: 50,
      jwksTimeout: 2,
      jwksCooldown: 10,
      jwksCacheMaxAge: 120,
    });
    expect(s.privateKey.type).toBe('private');
  });

  it('reports every problem at once, naming options and env vars, never quoting a key', async () => {
    const keys = rsaKeys();
    const e = await problemsOf(
      resolve(
        {
          service: {
            issuer: '',
            algorithm: 'HS256' as 'RS256',
            tokenValidity: -5,
            rotationInterval: 1.5,
            publishJwks: 'yes' as unknown as boolean,
            jwksPath: 'jwks.json',
            trustedIssuers: [
              { issuer: 'x', jwksUri: 'ftp://x' },
              { issuer: '' } as never,
            ],
            clockTolerance: -1,
            audience: [] as string[],
            bogus: 1,
          } as never,
        },
        {
          JWT_ISSUER_SERVICE_MAX_TOKEN_BYTES: 'big',
          JWT_ISSUER_SERVICE_PRIVATE_KEY: keys.publicPem,
        },
      ).result,
    );
    const paths = e.problems.map((p) => p.path);
    for (const path of [
      'service.name',
      'service.issuer',
      'service.algorithm',
      'service.tokenValidity',
      'service.rotationInterval',
      'service.publishJwks',
      'service.jwksPath',
      'service.trustedIssuers',
      'service.clockTolerance',
      'service.audience',
      'service.bogus',
      'service.maxTokenBytes',
      'service.privateKey',
    ]) {
      expect(paths).toContain(path);
    }
    expect(e.message).toContain('JWT_ISSUER_SERVICE_MAX_TOKEN_BYTES');
    expect(e.message).toContain(
      '(JWT_ISSUER_SERVICE_PRIVATE_KEY): is a public key; a private key is needed',
    );
    expect(e.message).not.toContain(keys.publicPem.split('\n')[1]);
  });

  it.each([
    [
      'malformed PEM',
      '-----BEGIN PRIVATE KEY-----\nAAAAnotakey\n-----END PRIVATE KEY-----',
      'is not a valid private key',
    ],
    ['a malformed JWK', '{"kty":"RSA","n":"x"', 'not valid JSON'],
    ['a missing file', '/nonexistent/key.pem', 'the key file was not found'],
    [
      'an EC key for RS256',
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
      'does not fit RS256',
    ],
  ])(
    'start-up error for %s, naming the option',
    async (_name, privateKey, message) => {
      const e = await problemsOf(
        resolve({
          service: { name: 'a', issuer: 'https://b.test', privateKey },
        }).result,
      );
      const p = e.problems.find((x) => x.path === 'service.privateKey')!;
      expect(p.message).toContain(message);
      expect(p.env).toBe('JWT_ISSUER_SERVICE_PRIVATE_KEY');
      if (privateKey.length > 100)
        expect(e.message).not.toContain(privateKey.split('\n')[1]);
    },
  );

  it('accepts JWK and EdDSA/ES256 keys', async () => {
    const ed = generateKeyPairSync('ed25519').privateKey;
    const jwk = JSON.stringify(ed.export({ format: 'jwk' }));
    const s = (
      await resolve({
        service: {
          name: 'a',
          issuer: 'https://b.test',
          algorithm: 'EdDSA',
          privateKey: jwk,
        },
      }).result
    ).service!.signing!;
    expect(s.privateKey.asymmetricKeyType).toBe('ed25519');
  });

  it('generates a development key with a loud warning, but never in production', async () => {
    const { result, logger } = resolve({
      service: { name: 'a', issuer: 'https://b.test', algorithm: 'ES256' },
    });
    const s = (await result).service!.signing!;
    expect(s.developmentKey).toBe(true);
    expect(logger.lines.join('\n')).toMatch(/DEVELOPMENT ES256 key/);
    const e = await problemsOf(
      resolve({ service: { name: 'a', issuer: 'https://b.test' } }, {}, true)
        .result,
    );
    expect(e.problems).toEqual([
      expect.objectContaining({
        path: 'service.privateKey',
        message: expect.stringContaining('production') as string,
      }),
    ]);
  });

  it('fails the module bootstrap with the problems', async () => {
    const err = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: { name: 'a' },
        }),
      ],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_JWT_ISSUER_CONFIG_INVALID' });
    expect((err as Error).message).toContain(
      'service.issuer (JWT_ISSUER_SERVICE_ISSUER): is required',
    );
  });
});
