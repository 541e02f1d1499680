import 'reflect-metadata';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type JwtIssuerConfigError,
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
} from '../../lib/index.js';
import { captureOutput } from '../support/capture-output.js';
import { rsaKeys } from '../support/forge.js';

/** Compiles an application that imports `module`; returns the start-up error (if any) and everything logged. */
async function start(module: DynamicModule) {
  @Module({
    imports: [ConfigModule.forRoot({ ignoreEnvFile: true }), module],
  })
  class AppModule {}
  const { result, error, output } = await captureOutput(async (logger) => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .setLogger(logger)
      .compile();
    await moduleRef.close();
    return moduleRef;
  });
  return {
    started: result !== undefined,
    error: error as JwtIssuerConfigError | undefined,
    output,
  };
}

const problem = (e: JwtIssuerConfigError | undefined, path: string) =>
  e?.problems.find((p) => p.path === path);

const trusting = (
  jwksUri: string,
  extra: object = {},
): JwtIssuerModuleOptions => ({
  ignoreEnvVars: true,
  service: {
    trustedIssuers: [{ issuer: 'https://billing.internal', jwksUri, ...extra }],
  },
});

describe('configuration that catches mistakes', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each([
    'orders',
    'orders.internal',
    'ftp://orders.internal',
    'https://orders.internal?x=1',
    'https://user:pw@orders.internal',
  ])(
    'service.issuer %s is refused: it must be an absolute http(s) URL',
    async (issuer) => {
      const { error } = await start(
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: { name: 'orders', issuer },
        }),
      );
      expect(problem(error, 'service.issuer')).toMatchObject({
        env: 'JWT_ISSUER_SERVICE_ISSUER',
        message: expect.stringContaining(
          'must be an absolute http(s) URL',
        ) as string,
      });
      expect(error!.message).not.toContain('pw@');
    },
  );

  it('a plain-http jwksUri to another host is a warning outside production', async () => {
    vi.stubEnv('NODE_ENV', 'development');
    const { started, output } = await start(
      JwtIssuerModule.forRoot(trusting('http://billing.internal/jwks.json')),
    );
    expect(started).toBe(true);
    expect(output).toMatch(
      /service\.trustedIssuers\[0\]\.jwksUri of 'https:\/\/billing\.internal' is plain http to billing\.internal/,
    );
  });

  it('a plain-http jwksUri to another host is a start-up error in production, unless the entry allows it', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const refused = await start(
      JwtIssuerModule.forRoot(trusting('http://billing.internal/jwks.json')),
    );
    expect(problem(refused.error, 'service.trustedIssuers')).toMatchObject({
      env: 'JWT_ISSUER_SERVICE_TRUSTED_ISSUERS',
      message: expect.stringContaining('allowHttp') as string,
    });
    const allowed = await start(
      JwtIssuerModule.forRoot(
        trusting('http://billing.internal/jwks.json', { allowHttp: true }),
      ),
    );
    expect(allowed.error).toBeUndefined();
    expect(allowed.output).not.toMatch(/plain http/);
  });

  it.each([
    'http://evil.localhost/jwks.json',
    'http://api.LOCALHOST:8080/jwks.json',
    'http://a.b.localhost/jwks.json',
  ])(
    '%s is not loopback (a name under .localhost leads wherever the resolver says): refused in production, a warning outside it',
    async (uri) => {
      const host = new URL(uri).hostname;
      vi.stubEnv('NODE_ENV', 'production');
      for (const options of [
        trusting(uri),
        // The same URL as an issuer whose JWKS is found by discovery under it.
        {
          ignoreEnvVars: true,
          service: { trustedIssuers: [{ issuer: uri }] },
        },
      ]) {
        const refused = await start(JwtIssuerModule.forRoot(options));
        expect(problem(refused.error, 'service.trustedIssuers')).toMatchObject({
          env: 'JWT_ISSUER_SERVICE_TRUSTED_ISSUERS',
          message: expect.stringContaining(
            `is plain http to ${host}: anyone on the network path can replace its keys`,
          ) as string,
        });
      }
      const allowed = await start(
        JwtIssuerModule.forRoot(trusting(uri, { allowHttp: true })),
      );
      expect(allowed.error).toBeUndefined();
      vi.stubEnv('NODE_ENV', 'development');
      const warned = await start(JwtIssuerModule.forRoot(trusting(uri)));
      expect(warned.started).toBe(true);
      expect(warned.output).toContain(`is plain http to ${host}`);
    },
  );

  it.each([
    'http://127.0.0.1:8080/jwks.json',
    'http://127.0.0.5/jwks.json',
    'http://localhost:8080/jwks.json',
    'http://[::1]:8080/jwks.json',
    'http://[0:0:0:0:0:0:0:1]/jwks.json',
    'https://billing.internal/jwks.json',
  ])('%s is accepted silently, in production too', async (uri) => {
    vi.stubEnv('NODE_ENV', 'production');
    const { error, output } = await start(
      JwtIssuerModule.forRoot(trusting(uri)),
    );
    expect(error).toBeUndefined();
    expect(output).not.toMatch(/plain http/);
  });

  it('refuses unknown keys in a trusted issuer entry (a misspelled allowHttp)', async () => {
    const { error } = await start(
      JwtIssuerModule.forRoot(
        trusting('https://billing.internal/jwks.json', { alowHttp: true }),
      ),
    );
    expect(problem(error, 'service.trustedIssuers')?.message).toContain(
      '[0] has unknown keys alowHttp',
    );
  });

  it('a key path that does not exist says "not found", naming the option and not the path', async () => {
    const path = join(tmpdir(), 'no-such-dir-8c1f', 'orders-service.pem');
    vi.stubEnv('JWT_ISSUER_SERVICE_NAME', 'orders');
    vi.stubEnv('JWT_ISSUER_SERVICE_ISSUER', 'https://orders.internal');
    vi.stubEnv('JWT_ISSUER_SERVICE_PRIVATE_KEY', path);
    const { error } = await start(JwtIssuerModule.forRoot());
    expect(error!.message).toContain(
      'service.privateKey (JWT_ISSUER_SERVICE_PRIVATE_KEY): the key file was not found',
    );
    expect(error!.message).not.toContain('no-such-dir-8c1f');
  });

  it('a PEM pasted without its header is not mistaken for a path', async () => {
    const body = rsaKeys().privatePem.split('\n').slice(1, -2).join('\n');
    const { error } = await start(
      JwtIssuerModule.forRoot({
        ignoreEnvVars: true,
        service: {
          name: 'orders',
          issuer: 'https://orders.internal',
          privateKey: body,
        },
      }),
    );
    const message = problem(error, 'service.privateKey')!.message;
    expect(message).not.toContain('not found');
    expect(error!.message).not.toContain(body.split('\n')[1]);
  });

  it('an unknown JWT_ISSUER_* variable (a typo) is a start-up error naming the closest known one', async () => {
    vi.stubEnv(
      'JWT_ISSUER_SERVICE_TRUSTED_ISSUER',
      '[{"issuer":"https://orders.internal","jwksUri":"https://orders.internal/jwks"}]',
    );
    vi.stubEnv('JWT_ISSUER_NATS_SIGNINGKEY', 'SA-secret-value');
    vi.stubEnv('JWT_ISSUER_EMPTY_TEMPLATE_SLOT', '');
    const { error } = await start(JwtIssuerModule.forRoot());
    expect(error!.problems).toEqual([
      {
        path: 'JWT_ISSUER_NATS_SIGNINGKEY',
        message:
          'is not a variable nest-jwt-issuer reads: did you mean JWT_ISSUER_NATS_SIGNING_KEY? (the JWT_ISSUER_ prefix is reserved for its variables)',
      },
      {
        path: 'JWT_ISSUER_SERVICE_TRUSTED_ISSUER',
        message:
          'is not a variable nest-jwt-issuer reads: did you mean JWT_ISSUER_SERVICE_TRUSTED_ISSUERS? (the JWT_ISSUER_ prefix is reserved for its variables)',
      },
    ]);
    expect(error!.message).not.toContain('SA-secret-value');
  });

  it('unknown variables are not checked when the module ignores the environment', async () => {
    vi.stubEnv('JWT_ISSUER_SERVICE_TRUSTED_ISSUER', '[]');
    const { error } = await start(
      JwtIssuerModule.forRoot({ ignoreEnvVars: true }),
    );
    expect(error).toBeUndefined();
  });
});
