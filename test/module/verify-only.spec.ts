import 'reflect-metadata';
import {
  Controller,
  Get,
  type INestApplication,
  Module,
  UseGuards,
} from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
  vi,
} from 'vitest';
import {
  JwtIssuerExceptionFilter,
  JwtIssuerModule,
  ServiceClaims,
  ServiceTokenGuard,
  ServiceTokenService,
  ServiceTokenVerifier,
} from '../../lib/index.js';
import { rsaKeys } from '../support/forge.js';
import {
  LogCollector,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

const ORDERS = 'https://orders.internal';

// M2 (billing) exactly as in docs/service-tokens.md: only JWT_ISSUER_SERVICE_TRUSTED_ISSUERS is set.
@Controller('internal')
class InvoicesController {
  constructor(private readonly tokens: ServiceTokenService) {}

  @UseGuards(ServiceTokenGuard)
  @Get('invoices')
  list(@ServiceClaims('sub') caller: string): { caller: string } {
    return { caller };
  }

  // A verify-only service asked to sign: the filter turns NOT_CONFIGURED into a 503.
  @Get('sign')
  async sign(): Promise<string> {
    return this.tokens.getToken();
  }
}

@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    JwtIssuerModule.forRoot(),
  ],
  controllers: [InvoicesController],
  providers: [{ provide: APP_FILTER, useClass: JwtIssuerExceptionFilter }],
})
class BillingModule {}

describe.each(['express', 'fastify'] as const)(
  'a service that only verifies (docs/service-tokens.md, M2), NODE_ENV=production, on %s',
  (platform) => {
    const keys = rsaKeys();
    const logs = new LogCollector();
    let m1: RunningApp;
    let m2: INestApplication;
    let m2Url: string;

    beforeAll(async () => {
      m1 = await startServiceApp({
        name: 'orders',
        issuer: ORDERS,
        privateKey: keys.privatePem,
      });
      vi.stubEnv('NODE_ENV', 'production');
      vi.stubEnv(
        'JWT_ISSUER_SERVICE_TRUSTED_ISSUERS',
        JSON.stringify([
          { issuer: ORDERS, jwksUri: `${m1.url}/.well-known/jwks.json` },
        ]),
      );
      m2 =
        platform === 'fastify'
          ? await NestFactory.create(BillingModule, new FastifyAdapter(), {
              logger: logs,
            })
          : await NestFactory.create(BillingModule, { logger: logs });
      await m2.listen(0, '127.0.0.1');
      m2Url = (await m2.getUrl()).replace('[::1]', '127.0.0.1');
    });
    afterAll(async () => {
      vi.unstubAllEnvs();
      await m2?.close();
      await m1?.app.close();
    });

    it('starts, and its guard accepts M1’s token fetched from M1’s JWKS', async () => {
      const res = await fetch(`${m2Url}/internal/invoices`, {
        headers: { authorization: await m1.service.authorizationHeader() },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ caller: 'orders' });
      const none = await fetch(`${m2Url}/internal/invoices`);
      expect(none.status).toBe(401);
    });

    it('publishes no JWKS and no OpenID configuration', async () => {
      for (const path of [
        '/.well-known/jwks.json',
        '/.well-known/openid-configuration',
      ]) {
        expect((await fetch(`${m2Url}${path}`)).status).toBe(404);
      }
    });

    it('generates no key and warns about none', () => {
      const text = logs.lines.join('\n');
      expect(text).toContain('service on (verify only)');
      expect(text).not.toMatch(/DEVELOPMENT|privateKey|signs with/);
    });

    it('ServiceTokenService says signing is not configured, naming the variables (503 through the filter)', async () => {
      const service = m2.get(ServiceTokenService);
      const error = (await Promise.resolve()
        .then(() => service.getToken())
        .catch((e: unknown) => e)) as { code: string; message: string };
      expect(error.code).toBe('ERR_JWT_ISSUER_NOT_CONFIGURED');
      expect(error.message).toContain('signing is not configured');
      for (const v of [
        'JWT_ISSUER_SERVICE_NAME',
        'JWT_ISSUER_SERVICE_ISSUER',
        'JWT_ISSUER_SERVICE_PRIVATE_KEY',
      ]) {
        expect(error.message).toContain(v);
      }
      const res = await fetch(`${m2Url}/internal/sign`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        code: 'ERR_JWT_ISSUER_NOT_CONFIGURED',
      });
    });
  },
);

describe('verify-only sections', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('take expectedAudience and the verifier’s tuning options; the verifier has no keys of its own', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: {
            trustedIssuers: [
              { issuer: ORDERS, jwksUri: 'https://orders.internal/jwks' },
            ],
            expectedAudience: 'billing',
            clockTolerance: 1,
            maxTokenBytes: 2048,
            verifiedCacheSize: 10,
            jwksTimeout: 1,
            jwksCooldown: 5,
            jwksCacheMaxAge: 60,
          },
        }),
      ],
    }).compile();
    await moduleRef.init();
    try {
      expect(moduleRef.get(ServiceTokenVerifier)).toBeInstanceOf(
        ServiceTokenVerifier,
      );
      expect(() => moduleRef.get(ServiceTokenService).getJwks()).toThrow(
        /signing is not configured/,
      );
    } finally {
      await moduleRef.close();
    }
  });

  it('need trusted issuers: a section with neither signing options nor trustedIssuers is a start-up error', async () => {
    const err = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: { expectedAudience: 'billing' },
        }),
      ],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_JWT_ISSUER_CONFIG_INVALID' });
    expect((err as Error).message).toContain(
      'service.trustedIssuers (JWT_ISSUER_SERVICE_TRUSTED_ISSUERS): is required when the service does not issue tokens',
    );
  });

  it('any signing option makes it an issuing section again: name and issuer required, and the key in production', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const err = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: {
            tokenValidity: 600,
            trustedIssuers: [
              { issuer: ORDERS, jwksUri: 'https://orders.internal/jwks' },
            ],
          },
        }),
      ],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(
      (err as { problems: { path: string }[] }).problems.map((p) => p.path),
    ).toEqual(['service.name', 'service.issuer', 'service.privateKey']);
  });
});
