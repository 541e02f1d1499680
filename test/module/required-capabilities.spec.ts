import 'reflect-metadata';
import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { createAccount } from '@nats-io/nkeys';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type JwtIssuerConfigError,
  JwtIssuerModule,
  type JwtIssuerRequirement,
  NatsUserJwtService,
} from '../../lib/index.js';
import { rsaKeys } from '../support/forge.js';

const ORDERS_TRUST = JSON.stringify([
  {
    issuer: 'https://orders.internal',
    jwksUri: 'https://orders.internal/jwks',
  },
]);

async function boot(module: DynamicModule): Promise<JwtIssuerConfigError> {
  const moduleRef = await Test.createTestingModule({ imports: [module] })
    .compile()
    .catch((e: unknown) => e);
  if (!(moduleRef instanceof Error)) {
    throw new Error('the module started');
  }
  return moduleRef as JwtIssuerConfigError;
}

const lines = (e: JwtIssuerConfigError) =>
  e.problems.map((p) => `${p.path}${p.env ? ` (${p.env})` : ''}`);

describe('JwtIssuerModule.forRoot({ require })', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(['production', 'development'])(
    'the README quick start with nothing configured (NODE_ENV=%s) fails at start-up, listing every missing variable',
    async (nodeEnv) => {
      vi.stubEnv('NODE_ENV', nodeEnv);
      @Module({
        imports: [
          ConfigModule.forRoot({ ignoreEnvFile: true }),
          JwtIssuerModule.forRoot({
            isGlobal: true,
            require: ['nats', 'service'],
          }),
        ],
      })
      class AppModule {}
      const error = (await NestFactory.create(AppModule, {
        logger: false,
        abortOnError: false,
      }).catch((e: unknown) => e)) as JwtIssuerConfigError;
      expect(error.code).toBe('ERR_JWT_ISSUER_CONFIG_INVALID');
      expect(lines(error)).toEqual([
        'nats',
        'nats.accountId (JWT_ISSUER_NATS_ACCOUNT_ID)',
        'nats.signingKey (JWT_ISSUER_NATS_SIGNING_KEY)',
        'service',
        'service.name (JWT_ISSUER_SERVICE_NAME)',
        'service.issuer (JWT_ISSUER_SERVICE_ISSUER)',
        ...(nodeEnv === 'production'
          ? ['service.privateKey (JWT_ISSUER_SERVICE_PRIVATE_KEY)']
          : []),
      ]);
      expect(error.message).toContain("require: ['nats']");
    },
  );

  it('without require, the same start succeeds with every capability off (the old behaviour)', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const moduleRef = await Test.createTestingModule({
      imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true })],
    }).compile();
    await moduleRef.close();
  });

  it('works with forRootAsync (require beside useFactory), for every capability', async () => {
    const error = await boot(
      JwtIssuerModule.forRootAsync({
        useFactory: () => ({ ignoreEnvVars: true }),
        require: ['seald', 'vonage', 'service.verify'],
      }),
    );
    expect(lines(error)).toEqual([
      'service.trustedIssuers (JWT_ISSUER_SERVICE_TRUSTED_ISSUERS)',
      'seald',
      'seald.secretId (JWT_ISSUER_SEALD_SECRET_ID)',
      'seald.secret (JWT_ISSUER_SEALD_SECRET)',
      'vonage',
      'vonage.applicationId (JWT_ISSUER_VONAGE_APPLICATION_ID)',
      'vonage.privateKey (JWT_ISSUER_VONAGE_PRIVATE_KEY)',
    ]);
  });

  it("'service.verify' is met by a verify-only section; 'service' is not", async () => {
    vi.stubEnv('JWT_ISSUER_SERVICE_TRUSTED_ISSUERS', ORDERS_TRUST);
    const ok = await Test.createTestingModule({
      imports: [JwtIssuerModule.forRoot({ require: ['service.verify'] })],
    }).compile();
    await ok.close();
    const error = await boot(JwtIssuerModule.forRoot({ require: ['service'] }));
    expect(lines(error)).toEqual([
      'service',
      'service.name (JWT_ISSUER_SERVICE_NAME)',
      'service.issuer (JWT_ISSUER_SERVICE_ISSUER)',
    ]);
    expect(error.message).toContain('but only verifies');
  });

  it('a configured capability meets its requirement; one that fails its own checks is reported once', async () => {
    const account = createAccount();
    const signingSeed = new TextDecoder().decode(createAccount().getSeed());
    const moduleRef = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          require: ['nats', 'service', 'service.verify'],
          nats: { accountId: account.getPublicKey(), signingKey: signingSeed },
          service: {
            name: 'orders',
            issuer: 'https://orders.internal',
            privateKey: rsaKeys().privatePem,
          },
        }),
      ],
    }).compile();
    expect(moduleRef.get(NatsUserJwtService).createUser().jwt).toMatch(/^ey/);
    await moduleRef.close();

    const error = await boot(
      JwtIssuerModule.forRoot({
        ignoreEnvVars: true,
        require: ['nats'],
        nats: { accountId: account.getPublicKey() },
      }),
    );
    expect(lines(error)).toEqual([
      'nats.signingKey (JWT_ISSUER_NATS_SIGNING_KEY)',
    ]);
  });

  it('refuses an unknown capability name, listing the known ones', async () => {
    const error = await boot(
      JwtIssuerModule.forRoot({
        ignoreEnvVars: true,
        require: ['natz' as JwtIssuerRequirement],
      }),
    );
    expect(error.problems).toEqual([
      {
        path: 'require',
        message:
          "'natz' is not a capability (known: nats, service, service.verify, seald, vonage)",
      },
    ]);
  });
});
