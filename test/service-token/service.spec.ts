import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigProblems } from '../../lib/config/config-problems.js';
import {
  JwtIssuerModule,
  type ServiceTokenOptions,
  ServiceTokenService,
  ServiceTokenVerifier,
} from '../../lib/index.js';
import { normalizeServiceTokenOptions } from '../../lib/service-token/service-token.options.js';
import { headerOf, payloadOf, rsaKeys } from '../support/forge.js';

const quiet = { production: false, logger: new Logger('test') };

async function makeService(
  options: ServiceTokenOptions,
): Promise<ServiceTokenService> {
  const problems = new ConfigProblems();
  const resolved = await normalizeServiceTokenOptions(options, problems, quiet);
  problems.throwIfAny();
  return new ServiceTokenService(resolved!.signing!);
}

describe('ServiceTokenService', () => {
  const services: ServiceTokenService[] = [];
  afterEach(() => {
    for (const s of services.splice(0)) s.onModuleDestroy();
    vi.useRealTimers();
  });
  const track = (s: ServiceTokenService) => (services.push(s), s);

  it('getToken(): source, iss, sub, aud, iat, exp (1 h by default), unique jti, kid in the header', async () => {
    const s = track(
      await makeService({
        name: 'orders',
        issuer: 'https://orders.test',
        audience: ['a', 'b'],
      }),
    );
    await s.onModuleInit();
    const t = await s.getToken();
    const p = payloadOf(t);
    expect(p).toMatchObject({
      source: 'microservice',
      iss: 'https://orders.test',
      sub: 'orders',
      aud: ['a', 'b'],
    });
    expect((p.exp as number) - (p.iat as number)).toBe(3600);
    expect(p.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(headerOf(t)).toEqual({
      alg: 'RS256',
      typ: 'JWT',
      kid: expect.stringMatching(/^s-/) as string,
    });
    expect(await s.getToken()).toBe(t); // cached
    expect(await s.authorizationHeader()).toBe(`Bearer ${t}`);
  });

  it('concurrent callers share one signing', async () => {
    const s = track(
      await makeService({
        name: 'orders',
        issuer: 'https://orders.test',
        algorithm: 'EdDSA',
      }),
    );
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => s.getToken()),
    );
    expect(new Set(tokens).size).toBe(1);
  });

  it('renews the token before it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const s = track(
      await makeService({
        name: 'o',
        issuer: 'https://o.test',
        algorithm: 'ES256',
        tokenValidity: 100,
      }),
    );
    const first = await s.getToken();
    vi.setSystemTime(Date.now() + 70_000);
    expect(await s.getToken()).toBe(first);
    vi.setSystemTime(Date.now() + 10_000); // past 75 % of the validity
    const during = await Promise.all(
      Array.from({ length: 10 }, () => s.getToken()),
    );
    const second = during[0];
    expect(new Set(during).size).toBe(1); // callers during the renewal share one signing
    expect(second).not.toBe(first);
    expect(payloadOf(second).jti).not.toBe(payloadOf(first).jti);
  });

  it('createJwt(): adds iat/exp, iss unless given, never changes the payload, validates its arguments', async () => {
    const s = track(
      await makeService({
        name: 'o',
        issuer: 'https://o.test',
        algorithm: 'ES256',
      }),
    );
    const payload = Object.freeze({ source: 'microservice', role: 'x' });
    const t = await s.createJwt(payload, { validitySeconds: 30 });
    const p = payloadOf(t);
    expect(p).toMatchObject({
      source: 'microservice',
      role: 'x',
      iss: 'https://o.test',
    });
    expect((p.exp as number) - (p.iat as number)).toBe(30);
    expect(payload).toEqual({ source: 'microservice', role: 'x' });
    expect(payloadOf(await s.createJwt({ iss: 'custom' })).iss).toBe('custom');
    for (const bad of [null, [], 'x'] as unknown[]) {
      await expect(
        s.createJwt(bad as Record<string, unknown>),
      ).rejects.toMatchObject({
        code: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
      });
    }
    for (const validitySeconds of [0, -1, 1.5, Number.NaN]) {
      await expect(s.createJwt({}, { validitySeconds })).rejects.toMatchObject({
        code: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
      });
    }
    await expect(
      s.createJwt({}, { useStaticSigningKey: false }),
    ).rejects.toMatchObject({
      code: 'ERR_JWT_ISSUER_INVALID_ARGUMENT',
      message: expect.stringContaining('rotationInterval') as string,
    });
  });

  it('dynamic keys: d-<ms> kids, published before first use, retired after interval + 2 × validity', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const s = track(
      await makeService({
        name: 'o',
        issuer: 'https://o.test',
        algorithm: 'ES256',
        rotationInterval: 10,
        jwksCooldown: 5,
        tokenValidity: 5,
      }),
    );
    await s.onModuleInit();
    const kids = () => s.getJwks().keys.map((k) => k.kid);
    const [staticKid, d1, d2] = kids();
    expect(staticKid).toMatch(/^s-/);
    expect(d1).toMatch(/^d-\d+$/);
    expect(d2).toMatch(/^d-\d+$/);
    expect(headerOf(await s.getToken()).kid).toBe(d1);
    expect(headerOf(await s.createJwt({})).kid).toBe(staticKid);
    expect(
      headerOf(await s.createJwt({}, { useStaticSigningKey: false })).kid,
    ).toBe(d1);
    expect(s.jwksMaxAge()).toBeLessThanOrEqual(10);

    await s.rotateKeys();
    const afterOne = kids();
    expect(headerOf(await s.getToken()).kid).toBe(d2); // d2 was in the JWKS before it signed
    expect(afterOne).toContain(d1); // retired, still published
    const d3 = afterOne.find((k) => ![staticKid, d1, d2].includes(k))!;
    expect(d3).toBeDefined();

    vi.setSystemTime(Date.now() + 19_000); // < interval + 2 × validity (20 s) after d1 stopped signing
    await s.rotateKeys();
    expect(kids()).toContain(d1);
    vi.setSystemTime(Date.now() + 2_000);
    await s.rotateKeys();
    expect(kids()).not.toContain(d1);
    expect(kids()).toContain(staticKid);
  });

  it('keeps a dynamic key published while a long token it signed is still valid', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const s = track(
      await makeService({
        name: 'o',
        issuer: 'https://o.test',
        algorithm: 'EdDSA',
        rotationInterval: 10,
        jwksCooldown: 5,
        tokenValidity: 5,
      }),
    );
    await s.onModuleInit();
    const long = await s.createJwt(
      {},
      { useStaticSigningKey: false, validitySeconds: 100 },
    );
    const kid = headerOf(long).kid as string;
    await s.rotateKeys();
    vi.setSystemTime(Date.now() + 50_000);
    await s.rotateKeys();
    expect(s.getJwks().keys.map((k) => k.kid)).toContain(kid);
    vi.setSystemTime(Date.now() + 60_000);
    await s.rotateKeys();
    expect(s.getJwks().keys.map((k) => k.kid)).not.toContain(kid);
  });

  it('timers are unref()ed and cleared on destroy', async () => {
    const s = await makeService({
      name: 'o',
      issuer: 'https://o.test',
      algorithm: 'ES256',
      rotationInterval: 60,
    });
    await s.onModuleInit();
    const inner = s as unknown as {
      renewTimer?: NodeJS.Timeout;
      rotationTimer?: NodeJS.Timeout;
    };
    expect(inner.renewTimer?.hasRef()).toBe(false);
    expect(inner.rotationTimer?.hasRef()).toBe(false);
    s.onModuleDestroy();
    expect(inner.renewTimer).toBeUndefined();
    expect(inner.rotationTimer).toBeUndefined();
  });

  it('the module verifies its own tokens and exposes the services', async () => {
    const keys = rsaKeys();
    const moduleRef = await Test.createTestingModule({
      imports: [
        JwtIssuerModule.forRootAsync({
          useFactory: async () => ({
            ignoreEnvVars: true,
            service: {
              name: 'o',
              issuer: 'https://o.test',
              privateKey: keys.privatePem,
            },
          }),
        }),
      ],
    }).compile();
    await moduleRef.init();
    const s = moduleRef.get(ServiceTokenService);
    const v = moduleRef.get(ServiceTokenVerifier);
    expect((await v.verify(await s.getToken())).sub).toBe('o');
    await moduleRef.close();
  });

  it('without the section, the services say what to configure', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true })],
    }).compile();
    await moduleRef.init();
    expect(() => moduleRef.get(ServiceTokenService).getToken()).toThrow(
      /JWT_ISSUER_SERVICE_NAME/,
    );
    await moduleRef.close();
  });
});
