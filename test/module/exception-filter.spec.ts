import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import {
  Body,
  Controller,
  Get,
  type INestApplication,
  Module,
  Post,
  Query,
} from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createAccount, createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtIssuerExceptionFilter,
  JwtIssuerModule,
  NatsUserJwtService,
  SealdJwtService,
  ServiceTokenVerifier,
  VonageJwtService,
  vonageAcl,
} from '../../lib/index.js';
import { LogCollector } from '../support/service-token-apps.js';

const account = createAccount();
const signingKey = createAccount();
const signingSeed = new TextDecoder().decode(signingKey.getSeed());
const sealdSecret = 'seald-secret-0123456789abcdef-XYZ';
const vonageKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const vonagePem = vonageKey.privateKey
  .export({ format: 'pem', type: 'pkcs8' })
  .toString();
const userSeed = new TextDecoder().decode(createUser().getSeed());

@Controller()
class RoutesController {
  constructor(
    private readonly nats: NatsUserJwtService,
    private readonly seald: SealdJwtService,
    private readonly vonage: VonageJwtService,
  ) {}

  @Post('nats')
  natsJwt(@Body() body: { publicUserKey: string }): { jwt: string } {
    return {
      jwt: this.nats.issueUserJwt({ publicUserKey: body.publicUserKey }),
    };
  }

  @Post('seald')
  sealdToken(@Body() body: { scopes: number[] }): { token: string } {
    return { token: this.seald.createToken({ scopes: body.scopes }) };
  }

  @Post('vonage')
  vonageToken(@Body() body: { ttl: number }): { token: string } {
    return {
      token: this.vonage.createToken({
        sub: 'jamie',
        acl: vonageAcl('all'),
        ttl: body.ttl,
      }),
    };
  }
}

/** Verifies `?token=`; without a `service` section the verifier is the not-configured instance (NOT_CONFIGURED). */
@Controller()
class VerifyController {
  constructor(private readonly verifier: ServiceTokenVerifier) {}

  @Get('verify')
  async verify(@Query('token') token: string): Promise<unknown> {
    return this.verifier.verify(token);
  }
}

const capabilities = JwtIssuerModule.forRoot({
  ignoreEnvVars: true,
  nats: { accountId: account.getPublicKey(), signingKey: signingSeed },
  seald: { secretId: 'seald-id', secret: sealdSecret, permissions: [3] },
  vonage: { applicationId: 'app-1', privateKey: vonagePem },
});

@Module({
  imports: [capabilities],
  controllers: [RoutesController, VerifyController],
  providers: [{ provide: APP_FILTER, useClass: JwtIssuerExceptionFilter }],
})
class FilteredModule {}

@Module({
  imports: [capabilities],
  controllers: [RoutesController, VerifyController],
})
class UnfilteredModule {}

const SECRETS = [signingSeed, sealdSecret, userSeed, ...vonagePem.split('\n')];

async function start(
  module: typeof FilteredModule,
  platform: 'express' | 'fastify',
  logs: LogCollector,
  globalFilter = false,
): Promise<INestApplication> {
  const app =
    platform === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { logger: logs })
      : await NestFactory.create(module, { logger: logs });
  if (globalFilter) {
    app.useGlobalFilters(
      new JwtIssuerExceptionFilter(app.get(HttpAdapterHost)),
    );
  }
  await app.listen(0, '127.0.0.1');
  return app;
}

async function call(
  app: INestApplication,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${await app.getUrl()}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('without the filter (as before it existed)', () => {
  it('a refused argument is a 500', async () => {
    const logs = new LogCollector();
    const app = await start(UnfilteredModule, 'express', logs);
    try {
      expect((await call(app, '/vonage', { ttl: 90_000 })).status).toBe(500);
    } finally {
      await app.close();
    }
  });
});

describe.each([
  ['express', false],
  ['fastify', false],
  ['express', true],
] as const)(
  'JwtIssuerExceptionFilter on %s (useGlobalFilters: %s)',
  (platform, global) => {
    const logs = new LogCollector();
    let app: INestApplication;
    beforeAll(async () => {
      app = await start(
        global ? UnfilteredModule : FilteredModule,
        platform,
        logs,
        global,
      );
    });
    afterAll(async () => {
      await app.close();
    });

    it('answers 400 with the code and a fixed text for a bad nkey, a bad Seald scope and a ttl over 24 h', async () => {
      const nkey = await call(app, '/nats', { publicUserKey: userSeed });
      const scope = await call(app, '/seald', { scopes: [4] });
      const ttl = await call(app, '/vonage', { ttl: 86_401 });
      expect(nkey.status).toBe(400);
      expect(JSON.parse(nkey.text)).toEqual({
        statusCode: 400,
        code: 'ERR_JWT_ISSUER_NKEY_WRONG_TYPE',
        message: 'An nkey is of the wrong kind',
      });
      expect(scope.status).toBe(400);
      expect(JSON.parse(scope.text)).toMatchObject({
        statusCode: 400,
        code: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
      });
      expect(ttl.status).toBe(400);
      expect(JSON.parse(ttl.text)).toMatchObject({
        statusCode: 400,
        code: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
      });
      expect(ttl.headers.get('content-type')).toContain('application/json');
      for (const r of [nkey, scope, ttl]) {
        for (const secret of SECRETS.filter((s) => s.length > 20)) {
          expect(r.text).not.toContain(secret);
        }
      }
      // Operators get the route, the code and the library's message; never a secret.
      const log = logs.lines.join('\n');
      expect(log).toMatch(
        /POST \/vonage: 400 ERR_JWT_ISSUER_INVALID_ARGUMENT: .*ttl/,
      );
      expect(log).toMatch(
        /POST \/seald: 400 ERR_JWT_ISSUER_INVALID_ARGUMENT: .*scopes\[0\]/,
      );
      expect(log).toMatch(/POST \/nats: 400 ERR_JWT_ISSUER_NKEY_WRONG_TYPE/);
      for (const secret of SECRETS.filter((s) => s.length > 20)) {
        expect(log).not.toContain(secret);
      }
    });

    it('answers 503 with the code when a capability is not configured, and logs the query-less path', async () => {
      const r = await call(app, '/verify?token=abc.def.ghi');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.text)).toEqual({
        statusCode: 503,
        code: 'ERR_JWT_ISSUER_NOT_CONFIGURED',
        message: 'This capability is not configured on the server',
      });
      const line = logs.lines.find((l) => l.includes('GET /verify:'));
      expect(line).toContain('503 ERR_JWT_ISSUER_NOT_CONFIGURED');
      expect(line).not.toContain('abc.def.ghi');
    });
  },
);

@Module({
  imports: [
    JwtIssuerModule.forRoot({
      ignoreEnvVars: true,
      service: { name: 'm', issuer: 'http://m.test', tokenValidity: 60 },
    }),
  ],
  controllers: [VerifyController],
  providers: [{ provide: APP_FILTER, useClass: JwtIssuerExceptionFilter }],
})
class VerifyModule {}

describe.each(['express', 'fastify'] as const)(
  'a token refused in a route, on %s',
  (platform) => {
    it('is a 401 with WWW-Authenticate and the same body whatever the reason', async () => {
      const logs = new LogCollector();
      const app = await start(VerifyModule, platform, logs);
      try {
        const malformed = await call(app, '/verify?token=not-a-token');
        const missing = await call(app, '/verify?token=');
        expect(malformed.status).toBe(401);
        expect(malformed.headers.get('www-authenticate')).toBe(
          'Bearer error="invalid_token"',
        );
        expect(JSON.parse(malformed.text)).toEqual({
          statusCode: 401,
          message: 'Unauthorized',
        });
        expect(missing.status).toBe(401);
        expect(JSON.parse(missing.text)).toEqual(JSON.parse(malformed.text));
        expect(logs.lines.join('\n')).toMatch(
          /GET \/verify: 401 ERR_JWT_ISSUER_TOKEN_MALFORMED/,
        );
      } finally {
        await app.close();
      }
    });
  },
);

/** The status each code must get from JwtIssuerExceptionFilter. */
function expectedStatus(code: string): number {
  if (code === JwtIssuerErrorCode.CONFIG_INVALID) return 500;
  if (
    code === JwtIssuerErrorCode.SERVICE_NOT_ALLOWED ||
    code === JwtIssuerErrorCode.SCOPE_INSUFFICIENT
  )
    return 403;
  if (code.startsWith('ERR_JWT_ISSUER_TOKEN_')) return 401;
  if (
    code === JwtIssuerErrorCode.NOT_CONFIGURED ||
    code.endsWith('_UNAVAILABLE')
  )
    return 503;
  return 400;
}

describe('JwtIssuerExceptionFilter: every code has a deliberate status', () => {
  // Exposes the protected mapping; a new code that nobody mapped would fall to 500 and fail here.
  class Probe extends JwtIssuerExceptionFilter {
    status(code: JwtIssuerErrorCode): number {
      return this.statusOf(new JwtIssuerError(code, 'probe'));
    }
  }
  const probe = new Probe({} as HttpAdapterHost);

  it.each(Object.values(JwtIssuerErrorCode))('%s', (code) => {
    expect(probe.status(code)).toBe(expectedStatus(code));
  });
});
