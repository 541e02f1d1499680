import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { jwtVerify } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  JWT_ISSUER_ENV_VARS,
  type JwtIssuerConfigError,
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
  SealdJwtService,
} from '../../lib/index.js';
import { captureOutput } from '../support/capture-output.js';

async function boot(options: JwtIssuerModuleOptions) {
  return captureOutput(async (logger) => {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtIssuerModule.forRoot(options)],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    return moduleRef;
  });
}

describe('seald configuration', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('lists the seald env vars', () => {
    const seald = JWT_ISSUER_ENV_VARS.filter((v) =>
      v.path.startsWith('seald.'),
    );
    expect(seald).toEqual([
      {
        env: 'JWT_ISSUER_SEALD_SECRET_ID',
        path: 'seald.secretId',
        kind: 'string',
      },
      {
        env: 'JWT_ISSUER_SEALD_SECRET',
        path: 'seald.secret',
        kind: 'string',
        secret: true,
      },
      {
        env: 'JWT_ISSUER_SEALD_PERMISSIONS',
        path: 'seald.permissions',
        kind: 'list',
      },
      { env: 'JWT_ISSUER_SEALD_APP_ID', path: 'seald.appId', kind: 'string' },
    ]);
  });

  it('reads the section from the environment (permissions as a comma list)', async () => {
    const secretId = randomUUID();
    const secret = randomBytes(40).toString('hex');
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET_ID', secretId);
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET', secret);
    vi.stubEnv('JWT_ISSUER_SEALD_PERMISSIONS', '0, 1');
    vi.stubEnv('JWT_ISSUER_SEALD_APP_ID', 'app-1');
    const { result, error, output } = await boot({});
    expect(error).toBeUndefined();
    const seald = result!.get(SealdJwtService);
    const { payload } = await jwtVerify(
      seald.createAnonymousEncryptionToken({ recipients: ['r'], owner: 'o' }),
      new TextEncoder().encode(secret),
      { algorithms: ['HS256'], issuer: secretId },
    );
    expect(payload.scopes).toEqual([0, 1]);
    expect(() => seald.createSignupToken()).toThrow(/JOIN_TEAM/);
    expect(output).toContain('seald on'); // the capture sees the module's log
    expect(output).not.toContain(secret);
    await result!.close();
  });

  it('fails start-up listing every problem (missing id and secret), no secret printed', async () => {
    const { error, output } = await boot({
      ignoreEnvVars: true,
      seald: { appId: 'a@b', permissions: [1, 9, 'x' as unknown as number] },
    });
    expect(error).toMatchObject({ code: 'ERR_JWT_ISSUER_CONFIG_INVALID' });
    const problems = (error as JwtIssuerConfigError).problems;
    expect(problems.map((p) => p.path)).toEqual([
      'seald.secretId',
      'seald.secret',
      'seald.permissions',
      'seald.permissions',
      'seald.appId',
    ]);
    const message = (error as Error).message;
    expect(message).toContain(
      'seald.secretId (JWT_ISSUER_SEALD_SECRET_ID): is required',
    );
    expect(message).toContain(
      'seald.secret (JWT_ISSUER_SEALD_SECRET): is required',
    );
    expect(message).toContain('item 1 (9) is not a known permission');
    expect(message).toContain('item 2 is not an integer');
    expect(output).not.toMatch(/Capabilities/);
  });

  it('reports bad values from the environment with the variable, never echoing the secret', async () => {
    const secret = `s3cr3t-${randomBytes(16).toString('hex')}`;
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET', secret);
    vi.stubEnv('JWT_ISSUER_SEALD_PERMISSIONS', '3,four');
    const { error, output } = await boot({ seald: { extra: 1 } as never });
    expect(error).toMatchObject({ code: 'ERR_JWT_ISSUER_CONFIG_INVALID' });
    const message = (error as Error).message;
    expect(message).toContain('seald.extra: is not a known option');
    expect(message).toContain('seald.secretId (JWT_ISSUER_SEALD_SECRET_ID)');
    expect(message).toContain(
      'seald.permissions (JWT_ISSUER_SEALD_PERMISSIONS): item 1 is not an integer',
    );
    expect(message).not.toContain(secret);
    expect(output).not.toContain(secret);
    expect(
      JSON.stringify((error as JwtIssuerConfigError).problems),
    ).not.toContain(secret);
  });

  it('refuses an empty secret and non-string ids', async () => {
    const { error } = await boot({
      ignoreEnvVars: true,
      seald: {
        secretId: 12 as unknown as string,
        secret: '  ',
        permissions: [],
      },
    });
    expect(
      (error as JwtIssuerConfigError).problems.map(
        (p) => `${p.path}: ${p.message}`,
      ),
    ).toEqual([
      'seald.secretId: must be a non-empty string',
      'seald.secret: must be a non-empty string',
      expect.stringContaining(
        'seald.permissions: must be a non-empty list',
      ) as string,
    ]);
  });

  it('without a seald section the service is injectable but says what to configure', async () => {
    const { result } = await boot({ ignoreEnvVars: true });
    const seald = result!.get(SealdJwtService);
    expect(() => seald.createToken()).toThrow(
      expect.objectContaining({
        code: 'ERR_JWT_ISSUER_NOT_CONFIGURED',
        message: expect.stringContaining('JWT_ISSUER_SEALD_SECRET') as string,
      }),
    );
    await result!.close();
  });
});
