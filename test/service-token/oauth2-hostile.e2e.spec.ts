import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerErrorCode,
  ServiceTokenGuard,
  ServiceTokenService,
} from '../../lib/index.js';
import { forge } from '../support/forge.js';
import {
  type HostileJwks,
  type JwksBehaviour,
  startHostileJwks,
} from '../support/hostile-jwks.js';
import {
  LogCollector,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

const SECRET = 'hostile-s3cr3t-never-logged';

@Controller()
class CallerController {
  constructor(private readonly tokens: ServiceTokenService) {}

  /** What an application route that needs M1's token does while the token endpoint misbehaves. */
  @Get('call')
  async call() {
    return { header: await this.tokens.authorizationHeader() };
  }

  @Get('open')
  open() {
    return 'open';
  }
}

// Token endpoints that misbehave, each served on its own path of one hostile server.
const ENDPOINTS: Record<string, JwksBehaviour> = {
  hang: { kind: 'hang' },
  trickle: { kind: 'trickle', everyMs: 100 },
  huge: { kind: 'huge' },
  bomb: { kind: 'gzip-bomb' },
  down: { kind: 'down' },
  html: { kind: 'keys', raw: '<html>oops</html>' },
  'no-token': { kind: 'keys', raw: '{"token_type":"Bearer","expires_in":60}' },
  dpop: {
    kind: 'keys',
    raw: '{"access_token":"abc","token_type":"DPoP","expires_in":60}',
  },
  'control-chars': {
    kind: 'keys',
    raw: '{"access_token":"abc\\r\\nX-Injected: 1","token_type":"Bearer"}',
  },
  'bad-expiry': {
    kind: 'keys',
    raw: '{"access_token":"abc","token_type":"Bearer","expires_in":-5}',
  },
  refused: { kind: 'status', status: 401 },
};

describe('a token endpoint that hangs, floods or answers garbage does not hang M1', () => {
  const logs = new LogCollector();
  let hostile: HostileJwks;
  const apps: Record<string, RunningApp> = {};

  beforeAll(async () => {
    hostile = await startHostileJwks();
    for (const [name, behaviour] of Object.entries(ENDPOINTS)) {
      hostile.set(`/${name}`, behaviour);
      apps[name] = await startServiceApp(
        {
          name: `m1-${name}`,
          issuer: `http://m1-${name}.test`,
          oauth2: {
            tokenEndpoint: hostile.url(`/${name}`),
            clientId: `m1-${name}`,
            clientSecret: SECRET,
            timeout: 1,
          },
        },
        { logger: logs, controllers: [CallerController] },
      );
    }
  }, 60_000);
  afterAll(async () => {
    for (const app of Object.values(apps)) await app.app.close();
    await hostile?.close();
  });

  it.each(Object.keys(ENDPOINTS))(
    '%s: refused within the deadline, then no new request during the back-off',
    async (name) => {
      const { service, url } = apps[name];
      // Past the start-up attempt's back-off (1 s): this call makes a request of its own.
      await new Promise((r) => setTimeout(r, 1100));
      const hitsBefore = hostile.hits(`/${name}`);
      const started = performance.now();
      const error = await service.getToken().then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      );
      const ms = performance.now() - started;
      expect(error?.code).toBe(JwtIssuerErrorCode.OAUTH2_TOKEN_UNAVAILABLE);
      expect(ms).toBeLessThan(2000);
      expect(hostile.hits(`/${name}`)).toBe(hitsBefore + 1);
      // During the back-off the last error comes back at once, without a request.
      const again = performance.now();
      await expect(service.getToken()).rejects.toMatchObject({
        code: JwtIssuerErrorCode.OAUTH2_TOKEN_UNAVAILABLE,
      });
      expect(performance.now() - again).toBeLessThan(50);
      expect(hostile.hits(`/${name}`)).toBe(hitsBefore + 1);
      // The application answers (500 on the route that needs the token, 200 elsewhere), and quickly.
      const res = await fetch(`${url}/call`);
      expect(res.status).toBe(500);
      expect(await res.text()).not.toContain(SECRET);
      expect((await fetch(`${url}/open`)).status).toBe(200);
    },
    10_000,
  );

  it('bounded the bodies it read, and logged reasons without the secret or the server’s text', () => {
    expect(hostile.bytesSent('/huge')).toBeLessThan(64 * 1024 * 1024);
    const text = logs.lines.join('\n');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('X-Injected');
    expect(text).not.toContain('<html>');
    expect(text).toContain('no complete answer within 1000 ms');
    expect(text).toContain('response larger than 65536 bytes');
    expect(text).toContain('the response is not JSON');
    expect(text).toContain('the token response has no access_token');
    expect(text).toContain("token_type 'DPoP' is not Bearer");
    expect(text).toContain('the access_token is not visible ASCII');
    expect(text).toContain('expires_in is not a positive number');
    expect(text).toContain('HTTP 401');
  });
});

@Controller('internal')
class GuardedController {
  @UseGuards(ServiceTokenGuard)
  @Get('whoami')
  whoami() {
    return 'ok';
  }
}

describe('hostile discovery documents: M2 refuses, quickly, and says why', () => {
  const logs = new LogCollector();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = {
    ...key.publicKey.export({ format: 'jwk' }),
    kid: 'k',
    alg: 'ES256',
  };
  let hostile: HostileJwks;
  let m2: RunningApp;
  const issuers: Record<string, string> = {};

  beforeAll(async () => {
    hostile = await startHostileJwks();
    hostile.set('/keys', { kind: 'keys', keys: [jwk] });
    const doc = (name: string, body: Record<string, unknown>) => {
      issuers[name] = hostile.url(`/${name}`);
      hostile.set(`/${name}/.well-known/openid-configuration`, {
        kind: 'keys',
        raw: JSON.stringify(body),
      });
    };
    doc('good', {
      issuer: hostile.url('/good'),
      jwks_uri: hostile.url('/keys'),
    });
    doc('impostor', {
      issuer: 'https://someone-else.test',
      jwks_uri: hostile.url('/keys'),
    });
    doc('http-elsewhere', {
      issuer: hostile.url('/http-elsewhere'),
      jwks_uri: 'http://jwks.example.com/keys',
    });
    doc('no-jwks', { issuer: hostile.url('/no-jwks') });
    // A name under .localhost is not loopback: plain http to it is refused like to any other host.
    doc('localhost-name', {
      issuer: hostile.url('/localhost-name'),
      jwks_uri: hostile.url('/keys').replace('127.0.0.1', 'evil.localhost'),
    });
    for (const name of ['hang', 'bomb']) {
      issuers[name] = hostile.url(`/${name}`);
      hostile.set(`/${name}/.well-known/openid-configuration`, {
        kind: name === 'hang' ? 'hang' : 'gzip-bomb',
      });
    }
    m2 = await startServiceApp(
      {
        trustedIssuers: Object.values(issuers).map((issuer) => ({
          issuer,
          algorithms: ['ES256' as const],
        })),
        jwksTimeout: 1,
        refusalLogLines: 1000,
      },
      { logger: logs, controllers: [GuardedController] },
    );
  }, 30_000);
  afterAll(async () => {
    await m2?.app.close();
    await hostile?.close();
  });

  const call = async (name: string) => {
    const now = Math.floor(Date.now() / 1000);
    const token = forge(
      { alg: 'ES256', kid: 'k' },
      { source: 'microservice', iss: issuers[name], sub: name, exp: now + 60 },
      key.privateKey,
      'ES256',
    );
    const started = performance.now();
    const res = await fetch(`${m2.url}/internal/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, ms: performance.now() - started };
  };

  it('accepts the issuer whose document is right (the JWKS it names)', async () => {
    expect((await call('good')).status).toBe(200);
  });

  it.each([
    'impostor',
    'http-elsewhere',
    'no-jwks',
    'localhost-name',
    'hang',
    'bomb',
  ])('%s: 401 within the deadline', async (name) => {
    const r = await call(name);
    expect(r.status).toBe(401);
    expect(r.ms).toBeLessThan(2500);
  });

  it('logged each reason', () => {
    const text = logs.lines.join('\n');
    expect(text).toContain(
      "the discovery document is for issuer 'https://someone-else.test', not this one",
    );
    expect(text).toContain(
      "the discovery document's jwks_uri is not an https URL",
    );
    expect(text).toContain('the discovery document has no jwks_uri');
    expect(
      logs.lines.some(
        (l) =>
          l.includes(`the JWKS of '${issuers['localhost-name']}'`) &&
          l.includes("the discovery document's jwks_uri is not an https URL"),
      ),
    ).toBe(true);
    expect(text).toContain('no complete answer within 1000 ms');
    expect(text).toContain('response larger than 262144 bytes');
    // Only the good JWKS was ever fetched: the refused documents sent M2 nowhere.
    expect(hostile.hits('/keys')).toBe(1);
  });
});

describe('a discovery document that never answers: the log names it, not a token endpoint', () => {
  const logs = new LogCollector();
  let hostile: HostileJwks;
  let m1: RunningApp;

  beforeAll(async () => {
    hostile = await startHostileJwks();
    hostile.set('/api/oidc/.well-known/openid-configuration', {
      kind: 'hang',
    });
    m1 = await startServiceApp(
      {
        name: 'm1-discovery',
        issuer: 'http://m1-discovery.test',
        oauth2: {
          issuer: hostile.url('/api/oidc'),
          clientId: 'm1-discovery',
          clientSecret: SECRET,
          timeout: 1,
        },
      },
      { logger: logs },
    );
  }, 30_000);
  afterAll(async () => {
    await m1?.app.close();
    await hostile?.close();
  });

  it('refused within the deadline; the warning names the discovery document URL as scheme, host and path', async () => {
    const started = performance.now();
    await expect(m1.service.getToken()).rejects.toMatchObject({
      code: JwtIssuerErrorCode.OAUTH2_TOKEN_UNAVAILABLE,
      message: `the discovery document ${hostile.url('/api/oidc/.well-known/openid-configuration')} (to find the token endpoint) for client 'm1-discovery' (default) failed: no complete answer within 1000 ms`,
    });
    expect(performance.now() - started).toBeLessThan(2000);
    const warnings = logs.lines.filter((l) =>
      l.includes("for client 'm1-discovery'"),
    );
    expect(warnings.length).toBeGreaterThan(0);
    for (const line of warnings) {
      expect(line).toContain(
        `the discovery document ${hostile.url('/api/oidc/.well-known/openid-configuration')} (to find the token endpoint)`,
      );
      expect(line).not.toContain('the token endpoint http');
      expect(line).not.toContain('%20');
      expect(line).not.toContain(SECRET);
    }
    expect(
      hostile.hits('/api/oidc/.well-known/openid-configuration'),
    ).toBeGreaterThan(0);
  });
});

describe('an identity provider whose discovery document names a plain-http token endpoint under .localhost', () => {
  const logs = new LogCollector();
  let hostile: HostileJwks;
  let m1: RunningApp;

  beforeAll(async () => {
    hostile = await startHostileJwks();
    hostile.set('/token', {
      kind: 'keys',
      raw: '{"access_token":"abc","token_type":"Bearer","expires_in":60}',
    });
    hostile.set('/idp/.well-known/openid-configuration', {
      kind: 'keys',
      raw: JSON.stringify({
        issuer: hostile.url('/idp'),
        token_endpoint: hostile
          .url('/token')
          .replace('127.0.0.1', 'evil.localhost'),
      }),
    });
    m1 = await startServiceApp(
      {
        name: 'm1-localhost-name',
        issuer: 'http://m1-localhost-name.test',
        oauth2: {
          issuer: hostile.url('/idp'),
          clientId: 'm1-localhost-name',
          clientSecret: SECRET,
          timeout: 1,
        },
      },
      { logger: logs },
    );
  }, 30_000);
  afterAll(async () => {
    await m1?.app.close();
    await hostile?.close();
  });

  it('is refused like any plain-http host: the secret is never sent there', async () => {
    await expect(m1.service.getToken()).rejects.toMatchObject({
      code: JwtIssuerErrorCode.OAUTH2_TOKEN_UNAVAILABLE,
      message: expect.stringContaining(
        "the discovery document's token_endpoint is not an https URL",
      ) as string,
    });
    expect(hostile.hits('/token')).toBe(0);
    expect(logs.lines.join('\n')).not.toContain(SECRET);
  });
});
