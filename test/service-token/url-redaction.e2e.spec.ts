import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerHealthIndicator,
  type ServiceTokenKeyStore,
} from '../../lib/index.js';
import { forge } from '../support/forge.js';
import { type HostileJwks, startHostileJwks } from '../support/hostile-jwks.js';
import {
  LogCollector,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

const now = (): number => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLIENT_SECRET = 'ClientSecretValue';
// What must never be shown: every userinfo and query below, and the client secret.
const HIDDEN = [
  'IssuerPw',
  'IssuerQuery',
  'JwksQuerySecret',
  'NoKeyPw',
  'NoKeyQuery',
  'DiscoveryPw',
  'DiscoveryQuery',
  'TokenPw',
  'TokenQuery',
  'TokenEndpointQuery',
  'StorePw',
  CLIENT_SECRET,
];

/** A key store whose driver fails with a message that quotes its connection string (password included). */
const failingStore: ServiceTokenKeyStore = {
  getAll: () =>
    Promise.reject(
      new Error('connect to redis://:StorePw@cache.internal:6379 failed'),
    ),
  setIfAbsent: () => Promise.reject(new Error('not reached')),
  delete: () => Promise.reject(new Error('not reached')),
};

describe('URLs in log lines and health details: scheme, host and path for the ones the module names, <url> in error messages from elsewhere', () => {
  const logs = new LogCollector();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let hostile: HostileJwks;
  let app: RunningApp;
  const failingIssuer = 'https://user:IssuerPw@orders.internal/?q=IssuerQuery';
  const emptyIssuer = 'https://user:NoKeyPw@d.internal/?d=NoKeyQuery';
  let impostorIssuer: string;
  let exporter: PrometheusExporter;

  beforeAll(async () => {
    // Metrics on: a configured issuer is a label of the verification and JWKS fetch series.
    exporter = new PrometheusExporter({ preventServerStart: true });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
    hostile = await startHostileJwks();
    hostile.set('/a', { kind: 'status', status: 500 });
    hostile.set('/d', { kind: 'keys', keys: [] });
    hostile.set('/token', { kind: 'status', status: 500 });
    impostorIssuer = hostile.url('/b');
    hostile.set('/b/.well-known/openid-configuration', {
      kind: 'keys',
      raw: JSON.stringify({
        issuer: 'https://u:DiscoveryPw@elsewhere.test/?k=DiscoveryQuery',
        jwks_uri: hostile.url('/d'),
      }),
    });
    app = await startServiceApp(
      {
        name: 'redacting',
        issuer: 'https://redacting.internal',
        privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
        algorithm: 'ES256',
        keyStore: failingStore,
        refusalLogLines: 1000,
        jwksTimeout: 1,
        trustedIssuers: [
          {
            issuer: failingIssuer,
            jwksUri: `${hostile.url('/a')}?api_key=JwksQuerySecret`,
            allowHttp: true,
          },
          {
            issuer: emptyIssuer,
            jwksUri: `${hostile.url('/d')}?x=NoKeyQuery`,
            allowHttp: true,
          },
          { issuer: impostorIssuer },
        ],
        oauth2: {
          tokenEndpoint: `${hostile.url('/token')}?client_key=TokenEndpointQuery`,
          clientId: 'redacting',
          clientSecret: CLIENT_SECRET,
          timeout: 1,
        },
      },
      { logger: logs },
    );
  }, 30_000);
  afterAll(async () => {
    await app?.app.close();
    await hostile?.close();
    metrics.disable();
  });

  const call = async (iss: string) => {
    const token = forge(
      { alg: 'ES256', kid: 'k-1' },
      { source: 'microservice', iss, sub: 'caller', exp: now() + 600 },
      key.privateKey,
      'ES256',
    );
    const res = await fetch(`${app.url}/internal/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return res.status;
  };

  it('after failures of every kind, no log line and no health detail holds a userinfo, a query or the secret', async () => {
    expect(await call(failingIssuer)).toBe(401); // its JWKS answers 500
    expect(await call(emptyIssuer)).toBe(401); // its JWKS lists no key
    expect(await call(impostorIssuer)).toBe(401); // its discovery document names another issuer
    expect(
      await call('https://x:TokenPw@evil.test/?t=TokenQuery'), // not trusted
    ).toBe(401);
    await expect(app.service.getToken()).rejects.toThrow(/HTTP 500/);
    await sleep(100);

    const text = logs.lines.join('\n');
    const report = JSON.stringify(
      app.app.get(JwtIssuerHealthIndicator).report(),
    );
    for (const hidden of HIDDEN) {
      expect(text, hidden).not.toContain(hidden);
      expect(report, hidden).not.toContain(hidden);
    }
    // What the module names itself: scheme, host and path.
    expect(text).toContain(
      `the JWKS of 'https://orders.internal/' (${hostile.url('/a')}) could not be fetched: HTTP 500`,
    );
    expect(text).toContain(
      "no key of issuer 'https://d.internal/' has kid 'k-1'",
    );
    expect(text).toContain(
      "the discovery document is for issuer 'https://elsewhere.test/', not this one",
    );
    expect(text).toContain("the issuer 'https://evil.test/' is not trusted");
    expect(text).toContain(
      `the token endpoint ${hostile.url('/token')} for client 'redacting' (default) failed: HTTP 500`,
    );
    // An error message from elsewhere (the key store's driver): every URL replaced.
    expect(text).toContain('Key store unreachable (connect to <url> failed)');
    expect(report).toContain('"lastError":"connect to <url> failed"');
    expect(report).toContain(`"jwksUri":"${hostile.url('/a')}","keys":0`);
  });

  it('no metric label holds a userinfo or a query of a configured issuer', async () => {
    expect(await call(failingIssuer)).toBe(401);
    const { resourceMetrics } = await exporter.collect();
    const labels = JSON.stringify(resourceMetrics);
    for (const hidden of HIDDEN) expect(labels, hidden).not.toContain(hidden);
    expect(labels).toContain('https://orders.internal/');
  });
});
