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
import type { ResolvedServiceTokenSection } from '../../lib/service-token/interfaces/service-token-options.interface.js';
import { rsaKeys } from '../support/forge.js';
import { LogCollector } from '../support/service-token-apps.js';

const keys = rsaKeys();
const base = {
  name: 'orders',
  issuer: 'https://orders.test',
  privateKey: keys.privatePem,
};
const resolve = async (
  options: JwtIssuerModuleOptions,
  env: Record<string, string> = {},
) =>
  (
    await resolveJwtIssuerOptions(options, readJwtIssuerEnv(env), {
      production: false,
      logger: new LogCollector(),
    })
  ).service as ResolvedServiceTokenSection;
const problemsOf = async (p: Promise<unknown>) => {
  const e = (await p.catch((x: unknown) => x)) as JwtIssuerConfigError;
  expect(e.code).toBe('ERR_JWT_ISSUER_CONFIG_INVALID');
  return e.message;
};

describe('service.oauth2 and oauth2 trusted issuers: options and environment', () => {
  it('reads the client from JWT_ISSUER_SERVICE_OAUTH2_* (defaults: client_secret_basic with a secret, 5 s)', async () => {
    const s = await resolve(
      {},
      {
        JWT_ISSUER_SERVICE_NAME: 'orders',
        JWT_ISSUER_SERVICE_ISSUER: 'https://orders.test',
        JWT_ISSUER_SERVICE_PRIVATE_KEY: keys.privatePem,
        JWT_ISSUER_SERVICE_OAUTH2_ISSUER: 'https://idp.test/realms/x',
        JWT_ISSUER_SERVICE_OAUTH2_CLIENT_ID: 'orders',
        JWT_ISSUER_SERVICE_OAUTH2_CLIENT_SECRET: 'sek',
        JWT_ISSUER_SERVICE_OAUTH2_SCOPE: 'invoices:read,invoices:write',
        JWT_ISSUER_SERVICE_OAUTH2_RESOURCE: 'https://billing.test',
        JWT_ISSUER_SERVICE_OAUTH2_DESTINATIONS: JSON.stringify([
          { url: 'https://stock.test', audience: 'stock-api' },
        ]),
      },
    );
    const o = s.signing!.oauth2!;
    expect(o).toMatchObject({
      issuer: 'https://idp.test/realms/x',
      tokenEndpoint: undefined,
      clientId: 'orders',
      clientAuth: 'client_secret_basic',
      timeoutMs: 5000,
      request: {
        scope: 'invoices:read invoices:write',
        resource: ['https://billing.test'],
        audience: undefined,
      },
    });
    expect(o.destinations).toHaveLength(1);
    expect(o.destinations[0].request.audience).toBe('stock-api');
    expect(o.destinations[0].match.includes('https://stock.test/x')).toBe(true);
  });

  it('private_key_jwt without a secret; a trusted issuer by its URL alone with the oauth2 profile', async () => {
    const s = await resolve({
      service: {
        ...base,
        oauth2: { tokenEndpoint: 'https://idp.test/token', clientId: 'orders' },
        trustedIssuers: [
          {
            issuer: 'https://idp.test',
            profile: 'oauth2',
            audience: 'https://orders.test',
            algorithms: ['PS256', 'ES384'],
          },
        ],
      },
    });
    expect(s.signing!.oauth2!.clientAuth).toBe('private_key_jwt');
    expect(s.trustedIssuers).toEqual([
      {
        issuer: 'https://idp.test',
        profile: 'oauth2',
        audience: ['https://orders.test'],
        algorithms: ['PS256', 'ES384'],
      },
    ]);
  });

  it('lists every problem at start-up, never echoing the secret', async () => {
    const message = await problemsOf(
      resolve(
        {
          service: {
            ...base,
            oauth2: {
              issuer: 'https://idp.test',
              tokenEndpoint: 'https://idp.test/token',
              clientId: '',
              clientSecret: 'hunter2',
              clientAuth: 'private_key_jwt',
              scope: ['ok', 'not "ok"'],
              resource: 'not a uri',
              timeout: 0,
              destinations: [{ url: 'ftp://x.test', extra: 1 } as never],
            },
            trustedIssuers: [
              { issuer: 'https://idp.test', profile: 'oauth2' },
              { issuer: 'not-a-url' },
              { issuer: 'https://c.test', profile: 'saml' as never },
              { issuer: 'https://d.test', accessTokenTypes: ['JWT'] },
            ],
          },
        },
        {},
      ),
    );
    const lines = message.split('\n');
    for (const [path, expected] of [
      [
        'service.oauth2 ',
        'give either issuer (the token endpoint is found by discovery) or tokenEndpoint, not both',
      ],
      ['service.oauth2.clientId ', 'is required'],
      [
        'service.oauth2.clientSecret ',
        'is not used with clientAuth private_key_jwt',
      ],
      ['service.oauth2.scope ', 'each scope must be printable ASCII'],
      ['service.oauth2.resource ', 'must be an absolute URI without fragment'],
      ['service.oauth2.timeout ', 'must be a number of seconds'],
      ['service.oauth2.destinations[0].extra', 'is not a known option'],
      ['service.oauth2.destinations[0].url', 'must be an absolute http(s) URL'],
      ['service.trustedIssuers ', "[0] of profile 'oauth2' needs an audience"],
      [
        'service.trustedIssuers ',
        '[1] has no jwksUri, so its issuer must be an absolute http(s) URL',
      ],
      ['service.trustedIssuers ', "[2].profile must be 'service' or 'oauth2'"],
      [
        'service.trustedIssuers ',
        '[3].accessTokenTypes must be a non-empty list of typ values',
      ],
    ]) {
      expect(
        lines.some(
          (l) =>
            (l.includes(`- ${path.trim()} `) ||
              l.includes(`- ${path.trim()}:`)) &&
            l.includes(expected),
        ),
        `${path}: ${expected}\n${message}`,
      ).toBe(true);
    }
    expect(message).not.toContain('hunter2');
  });

  it('refuses plain http to another host for the token endpoint (the secret would travel in clear) unless allowHttp', async () => {
    const oauth2 = {
      tokenEndpoint: 'http://idp.example.com/token',
      clientId: 'orders',
      clientSecret: 'hunter2',
    };
    const message = await problemsOf(resolve({ service: { ...base, oauth2 } }));
    expect(message).toContain(
      'service.oauth2.tokenEndpoint (JWT_ISSUER_SERVICE_OAUTH2_TOKEN_ENDPOINT): is plain http to idp.example.com',
    );
    const s = await resolve({
      service: { ...base, oauth2: { ...oauth2, allowHttp: true } },
    });
    expect(s.signing!.oauth2!.tokenEndpoint).toBe(oauth2.tokenEndpoint);
    // Loopback is fine without it.
    const local = await resolve({
      service: {
        ...base,
        oauth2: { ...oauth2, tokenEndpoint: 'http://127.0.0.1:9/token' },
      },
    });
    expect(local.signing!.oauth2!.tokenEndpoint).toBe(
      'http://127.0.0.1:9/token',
    );
  });

  it('a name under .localhost is not loopback: such a token endpoint or issuer is refused like any plain-http host; localhost, 127.0.0.5 and [::1] are not', async () => {
    const client = { clientId: 'orders', clientSecret: 'hunter2' };
    for (const [key, env] of [
      ['tokenEndpoint', 'JWT_ISSUER_SERVICE_OAUTH2_TOKEN_ENDPOINT'],
      ['issuer', 'JWT_ISSUER_SERVICE_OAUTH2_ISSUER'],
    ]) {
      for (const url of [
        'http://evil.localhost/token',
        'http://idp.localhost:8080/realms/x',
      ]) {
        const message = await problemsOf(
          resolve({ service: { ...base, oauth2: { ...client, [key]: url } } }),
        );
        expect(message).toContain(
          `service.oauth2.${key} (${env}): is plain http to ${new URL(url).hostname}: the client's credentials would travel in clear`,
        );
        expect(message).not.toContain('hunter2');
      }
      for (const url of [
        'http://localhost:9/token',
        'http://127.0.0.5:9/token',
        'http://[::1]:9/token',
      ]) {
        const s = await resolve({
          service: { ...base, oauth2: { ...client, [key]: url } },
        });
        expect(s.signing!.oauth2![key as 'issuer' | 'tokenEndpoint']).toBe(url);
      }
    }
  });

  it('an issuer found by discovery has no query (OpenID Connect Discovery 1.0 §3): a start-up error, for the client and for a trusted issuer without jwksUri', async () => {
    const client = { clientId: 'orders', clientSecret: 'hunter2' };
    const url = 'https://idp.test/realms/x?tenant=a';
    const message = await problemsOf(
      resolve({ service: { ...base, oauth2: { ...client, issuer: url } } }),
    );
    expect(message).toContain(
      'service.oauth2.issuer (JWT_ISSUER_SERVICE_OAUTH2_ISSUER): must have no query or fragment (the token endpoint is found by OpenID Connect discovery under it)',
    );
    const trusted = await problemsOf(
      resolve({ service: { ...base, trustedIssuers: [{ issuer: url }] } }),
    );
    expect(trusted).toContain(
      '[0] has no jwksUri, so its issuer must have no query or fragment (its JWKS is found by OpenID Connect discovery under it)',
    );
    // With a jwksUri the issuer is only compared, never fetched: a query in it is the issuer's business.
    await expect(
      resolve({
        service: {
          ...base,
          trustedIssuers: [{ issuer: url, jwksUri: 'https://idp.test/jwks' }],
        },
      }),
    ).resolves.toBeDefined();
  });

  it('without signing options: client_secret_basic alone is a complete section; private_key_jwt needs the key', async () => {
    const lean = await resolve(
      {},
      {
        JWT_ISSUER_SERVICE_OAUTH2_TOKEN_ENDPOINT: 'https://idp.test/token',
        JWT_ISSUER_SERVICE_OAUTH2_CLIENT_ID: 'orders',
        JWT_ISSUER_SERVICE_OAUTH2_CLIENT_SECRET: 'hunter2',
      },
    );
    expect(lean.signing).toBeUndefined();
    expect(lean.oauth2?.clientAuth).toBe('client_secret_basic');
    const message = await problemsOf(
      resolve({
        service: {
          oauth2: { tokenEndpoint: 'https://idp.test/token', clientId: 'o' },
        },
      }),
    );
    expect(message).toContain(
      "service.oauth2.clientAuth (JWT_ISSUER_SERVICE_OAUTH2_CLIENT_AUTH): private_key_jwt signs its client assertion with this service's key",
    );
  });

  it('basic without a secret, and an unknown method, are problems', async () => {
    const message = await problemsOf(
      resolve({
        service: {
          ...base,
          oauth2: {
            issuer: 'https://idp.test',
            clientId: 'orders',
            clientAuth: 'client_secret_post' as never,
          },
        },
      }),
    );
    expect(message).toContain(
      'service.oauth2.clientAuth (JWT_ISSUER_SERVICE_OAUTH2_CLIENT_AUTH): must be one of client_secret_basic, private_key_jwt',
    );
    const basic = await problemsOf(
      resolve({
        service: {
          ...base,
          oauth2: {
            issuer: 'https://idp.test',
            clientId: 'orders',
            clientAuth: 'client_secret_basic',
          },
        },
      }),
    );
    expect(basic).toContain(
      'service.oauth2.clientSecret (JWT_ISSUER_SERVICE_OAUTH2_CLIENT_SECRET): is required with clientAuth client_secret_basic',
    );
  });
});
