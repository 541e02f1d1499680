import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import {
  readJwtIssuerEnv,
  resolveJwtIssuerOptions,
} from '../../lib/jwt-issuer.capabilities.js';
import type {
  JwtIssuerConfigError,
  JwtIssuerModuleOptions,
} from '../../lib/index.js';
import { rsaKeys } from '../support/forge.js';
import { LogCollector } from '../support/service-token-apps.js';

const keys = rsaKeys();
const base = {
  name: 'orders',
  issuer: 'https://orders.test',
  privateKey: keys.privatePem,
};
const resolve = (
  options: JwtIssuerModuleOptions,
  env: Record<string, string> = {},
) =>
  resolveJwtIssuerOptions(options, readJwtIssuerEnv(env), {
    production: false,
    logger: new LogCollector(),
  });
const problemsOf = async (p: Promise<unknown>) => {
  const e = (await p.catch((x: unknown) => x)) as JwtIssuerConfigError;
  expect(e.code).toBe('ERR_JWT_ISSUER_CONFIG_INVALID');
  return e.message;
};

describe('service options: trusted issuers and the JWKS client', () => {
  it('reads algorithms per trusted issuer and jwksKeyGracePeriod from the environment; defaults', async () => {
    const s = (await resolve(
      {},
      {
        JWT_ISSUER_SERVICE_NAME: 'orders',
        JWT_ISSUER_SERVICE_ISSUER: 'https://orders.test',
        JWT_ISSUER_SERVICE_TRUSTED_ISSUERS: JSON.stringify([
          {
            issuer: 'https://billing.test',
            jwksUri: 'https://billing.test/jwks.json',
            algorithms: ['ES256', 'ES256', 'EdDSA'],
          },
          { issuer: 'https://stock.test', jwksUri: 'https://stock.test/jwks' },
        ]),
        JWT_ISSUER_SERVICE_JWKS_KEY_GRACE_PERIOD: '60',
      },
    ))!.service!;
    expect(s.trustedIssuers).toEqual([
      {
        issuer: 'https://billing.test',
        jwksUri: 'https://billing.test/jwks.json',
        algorithms: ['ES256', 'EdDSA'],
      },
      { issuer: 'https://stock.test', jwksUri: 'https://stock.test/jwks' },
    ]);
    expect(s.jwksKeyGracePeriod).toBe(60);
    expect(
      (await resolve({ service: base }))!.service!.jwksKeyGracePeriod,
    ).toBe(300);
  });

  it('refuses unknown or empty algorithms, a negative grace period, and credentials in a jwksUri without echoing them', async () => {
    const message = await problemsOf(
      resolve({
        service: {
          ...base,
          jwksKeyGracePeriod: -1,
          trustedIssuers: [
            {
              issuer: 'https://a.test',
              jwksUri: 'https://a.test/jwks',
              algorithms: ['HS256' as never],
            },
            {
              issuer: 'https://b.test',
              jwksUri: 'https://b.test/jwks',
              algorithms: [],
            },
            {
              issuer: 'https://c.test',
              jwksUri: 'https://user:hunter2@c.test/jwks',
            },
          ],
        },
      }),
    );
    expect(message).toContain('service.jwksKeyGracePeriod');
    expect(message).toContain(
      '[0].algorithms must be a non-empty list of RS256, RS384, RS512, PS256, ES256, ES384, ES512, EdDSA',
    );
    expect(message).toContain('[1].algorithms must be a non-empty list');
    expect(message).toContain('[2].jwksUri must not hold a user or password');
    expect(message).not.toContain('hunter2');
  });
  it('a configured issuer with a userinfo or query is shown without them in start-up warnings and problems', async () => {
    const logger = new LogCollector();
    const issuer = 'http://user:WarnPw@c.test/?w=WarnQuery';
    const message = await problemsOf(
      resolveJwtIssuerOptions(
        {
          service: {
            ...base,
            trustedIssuers: [
              { issuer, jwksUri: 'http://c.test/jwks' },
              { issuer, jwksUri: 'https://c.test/jwks' },
            ],
          },
        },
        readJwtIssuerEnv({}),
        { production: false, logger },
      ),
    );
    const warnings = logger.lines.join('\n');
    expect(warnings).toContain(
      "service.trustedIssuers[0].jwksUri of 'http://c.test/' is plain http to c.test",
    );
    expect(message).toContain("[1].issuer 'http://c.test/' is listed twice");
    for (const text of [warnings, message]) {
      expect(text).not.toContain('WarnPw');
      expect(text).not.toContain('WarnQuery');
    }
  });
});
