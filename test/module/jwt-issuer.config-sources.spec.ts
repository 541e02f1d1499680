import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  JwtIssuerConfigError,
  JwtIssuerModule,
  SealdJwtService,
  jwtIssuerConfig,
} from '../../lib/index.js';

const SECRET = 'a-seald-secret-that-must-never-be-printed';

async function compile(imports: unknown[]) {
  const ref = await Test.createTestingModule({
    imports: imports as never[],
  }).compile();
  await ref.init();
  return ref;
}

describe('where the configuration comes from', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('forRoot() with no options reads the JWT_ISSUER_* environment', async () => {
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET_ID', 'env-id');
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET', SECRET);
    const ref = await compile([JwtIssuerModule.forRoot()]);
    expect(decodeJwt(ref.get(SealdJwtService).createToken()).iss).toBe(
      'env-id',
    );
    await ref.close();
  });

  it('explicit options override the environment key by key', async () => {
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET_ID', 'env-id');
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET', SECRET);
    const ref = await compile([
      JwtIssuerModule.forRoot({ seald: { secretId: 'explicit-id' } }),
    ]);
    expect(decodeJwt(ref.get(SealdJwtService).createToken()).iss).toBe(
      'explicit-id',
    );
    await ref.close();
  });

  it('ignoreEnvVars: true uses only the explicit options', async () => {
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET_ID', 'env-id');
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET', SECRET);
    const ref = await compile([
      JwtIssuerModule.forRoot({ ignoreEnvVars: true }),
    ]);
    expect(() => ref.get(SealdJwtService).createToken()).toThrow(
      expect.objectContaining({ code: 'ERR_JWT_ISSUER_NOT_CONFIGURED' }),
    );
    await ref.close();
  });

  it('reads a .env file loaded by ConfigModule.forRoot, and forRootAsync(jwtIssuerConfig.asProvider()) works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-issuer-env-'));
    const envFile = join(dir, '.env');
    writeFileSync(
      envFile,
      `JWT_ISSUER_SEALD_SECRET_ID=file-id\nJWT_ISSUER_SEALD_SECRET=${SECRET}\nJWT_ISSUER_SEALD_PERMISSIONS=1,3\n`,
    );
    try {
      const ref = await compile([
        ConfigModule.forRoot({ envFilePath: envFile, ignoreEnvVars: false }),
        JwtIssuerModule.forRootAsync(jwtIssuerConfig.asProvider()),
      ]);
      const seald = ref.get(SealdJwtService);
      expect(decodeJwt(seald.createToken({ scopes: [3] }))).toMatchObject({
        iss: 'file-id',
        scopes: [3],
      });
      // Permissions from the file are enforced: 0 is not among 1,3.
      expect(() => seald.createToken({ scopes: [0] })).toThrow(
        expect.objectContaining({ code: 'ERR_JWT_ISSUER_INVALID_ARGUMENT' }),
      );
      // The namespace is injectable as parsed options.
      expect(ref.get(jwtIssuerConfig.KEY)).toMatchObject({
        seald: { secretId: 'file-id', permissions: ['1', '3'] },
      });
      await ref.close();
    } finally {
      for (const k of [
        'JWT_ISSUER_SEALD_SECRET_ID',
        'JWT_ISSUER_SEALD_SECRET',
        'JWT_ISSUER_SEALD_PERMISSIONS',
      ]) {
        delete process.env[k];
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forRootAsync with a factory reports every problem in one error, without the secret', async () => {
    const err = await compile([
      JwtIssuerModule.forRootAsync({
        useFactory: async () => ({
          ignoreEnvVars: true,
          seald: { secret: SECRET, permissions: [42] },
          vonage: { applicationId: 'x' },
        }),
      }),
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JwtIssuerConfigError);
    const { problems, message } = err as JwtIssuerConfigError;
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        'seald.secretId',
        'seald.permissions',
        'vonage.privateKey',
      ]),
    );
    expect(message).toContain('seald.secretId (JWT_ISSUER_SEALD_SECRET_ID)');
    expect(message).not.toContain(SECRET);
  });

  it('isGlobal makes the services injectable in modules that do not import it', async () => {
    @Controller()
    class ConsumerController {
      constructor(readonly seald: SealdJwtService) {}
    }
    @Module({ controllers: [ConsumerController] })
    class FeatureModule {}

    const ref = await compile([
      JwtIssuerModule.forRoot({
        isGlobal: true,
        ignoreEnvVars: true,
        seald: { secretId: 'g', secret: SECRET },
      }),
      FeatureModule,
    ]);
    const token = ref.get(ConsumerController).seald.createToken();
    expect(decodeJwt(token).iss).toBe('g');
    await ref.close();

    // Without isGlobal, the same consumer cannot resolve the service.
    await expect(
      compile([
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          seald: { secretId: 'g', secret: SECRET },
        }),
        FeatureModule,
      ]),
    ).rejects.toThrow(/SealdJwtService/);
  });
});
