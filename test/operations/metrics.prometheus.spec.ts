import 'reflect-metadata';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  Controller,
  Get,
  Inject,
  type INestApplication,
  Module,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIssuerTelemetry } from '../../lib/common/telemetry.js';
import {
  JwtIssuerModule,
  ServiceTokenGuard,
  ServiceTokenService,
} from '../../lib/index.js';
import { forge } from '../support/forge.js';
import { type HostileJwks, startHostileJwks } from '../support/hostile-jwks.js';
import {
  type RunningPrometheus,
  startPrometheus,
} from '../support/prometheus-server.js';

const now = (): number => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ORDERS = 'https://orders.internal';
const SELF = 'https://billing.internal';
const EXPORTER = Symbol('EXPORTER');
const bearer = (t: string) => `Bearer ${t}`;

@Controller()
class OpsController {
  constructor(
    @Inject(EXPORTER) private readonly exporter: PrometheusExporter,
  ) {}

  /** The OpenTelemetry Prometheus exporter, served by the Nest app itself. */
  @Get('metrics')
  metrics(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    this.exporter.getMetricsRequestHandler(req, res);
  }

  @UseGuards(ServiceTokenGuard)
  @Get('internal/whoami')
  whoami(): { ok: true } {
    return { ok: true };
  }
}

/** Counts by `outcome|error.type|issuer` of the verifications series in a PromQL answer. */
function byLabels(
  result: { metric: Record<string, string>; value: number }[],
  labels: string[],
): Record<string, number> {
  return Object.fromEntries(
    result.map((r) => [
      labels.map((l) => r.metric[l] ?? '').join('|'),
      r.value,
    ]),
  );
}

describe('metrics: the OpenTelemetry SDK and its Prometheus exporter in a Nest app, scraped by a real Prometheus', () => {
  const orders = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...orders.publicKey.export({ format: 'jwk' }),
    kid: 'o-1',
    alg: 'RS256',
    use: 'sig',
  };
  const ordersToken = (claims: Record<string, unknown> = {}, kid = 'o-1') =>
    forge(
      { alg: 'RS256', kid },
      {
        source: 'microservice',
        iss: ORDERS,
        sub: 'orders',
        exp: now() + 600,
        ...claims,
      },
      orders.privateKey,
    );
  let jwks: HostileJwks;
  let exporter: PrometheusExporter;
  let provider: MeterProvider;
  let app: INestApplication;
  let url: string;
  let prometheus: RunningPrometheus;

  const call = async (authorization?: string): Promise<number> => {
    const res = await fetch(`${url}/internal/whoami`, {
      headers: authorization ? { authorization } : {},
    });
    await res.arrayBuffer();
    return res.status;
  };

  /** Polls PromQL until `check` passes on the answer (Prometheus scrapes every 250 ms), or fails with the last one. */
  async function eventually<T>(
    promql: string,
    map: (r: { metric: Record<string, string>; value: number }[]) => T,
    expected: T,
  ): Promise<void> {
    let last: T | undefined;
    for (let i = 0; i < 60; i++) {
      last = map(await prometheus.query(promql));
      try {
        expect(last).toEqual(expected);
        return;
      } catch {
        await sleep(250);
      }
    }
    expect(last).toEqual(expected);
  }

  beforeAll(async () => {
    jwks = await startHostileJwks();
    jwks.set('/orders', { kind: 'keys', keys: [jwk] });
    // The application's OpenTelemetry set-up, before Nest starts (as an app's main.ts or --import file does).
    exporter = new PrometheusExporter({ preventServerStart: true });
    provider = new MeterProvider({ readers: [exporter] });
    metrics.setGlobalMeterProvider(provider);

    @Module({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: {
            name: 'billing',
            issuer: SELF,
            refusalLogLines: 5,
            trustedIssuers: [
              { issuer: ORDERS, jwksUri: jwks.url('/orders'), allowHttp: true },
            ],
          },
        }),
      ],
      controllers: [OpsController],
      providers: [{ provide: EXPORTER, useValue: exporter }],
    })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    const port = ((app.getHttpServer() as Server).address() as { port: number })
      .port;
    url = `http://127.0.0.1:${port}`;
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${port}`],
      scrapeIntervalMs: 250,
    });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await app?.close();
    await provider?.shutdown();
    metrics.disable();
    await jwks?.close();
  });

  it('after a known mix of good and bad calls, PromQL returns the exact counts', async () => {
    const service = app.get(ServiceTokenService);
    // Good: one token of the trusted issuer six times (2 first sights, then 4 cache hits), and three own tokens.
    const good = ordersToken();
    for (let i = 0; i < 6; i++) expect(await call(bearer(good))).toBe(200);
    for (let i = 0; i < 3; i++) {
      const own = await service.createJwt({
        source: 'microservice',
        sub: 'x',
        n: i, // distinct tokens (RS256 signatures are deterministic)
      });
      expect(await call(bearer(own))).toBe(200);
    }
    // Bad, each kind a known number of times.
    const bad: [string | undefined, number][] = [
      [bearer(ordersToken({ exp: now() - 3600 })), 2], // expired
      [
        bearer(
          forge(
            { alg: 'RS256', kid: 'o-1' },
            { source: 'microservice', iss: ORDERS, exp: now() + 600 },
            stranger.privateKey,
          ),
        ),
        4,
      ], // signature
      [bearer('abc.def'), 3], // malformed
      [bearer(ordersToken({}, 'o-unknown')), 2], // unknown kid (the cool-down holds the refetch)
      [undefined, 2], // no token at all: refused by the guard before any verification
    ];
    for (const [authorization, times] of bad) {
      for (let i = 0; i < times; i++)
        expect(await call(authorization)).toBe(401);
    }
    // Untrusted issuers, each a different attacker-chosen iss.
    for (let i = 0; i < 5; i++) {
      const t = forge(
        { alg: 'RS256', kid: 'o-1' },
        {
          source: 'microservice',
          iss: `https://evil-${i}.test`,
          exp: now() + 600,
        },
        stranger.privateKey,
      );
      expect(await call(bearer(t))).toBe(401);
    }

    const labels = [
      'nest_jwt_issuer_outcome',
      'error_type',
      'nest_jwt_issuer_issuer',
    ];
    await eventually(
      'nest_jwt_issuer_verifications_total',
      (r) => byLabels(r, labels),
      {
        [`valid||${ORDERS}`]: 6,
        [`valid||${SELF}`]: 3,
        [`refused|ERR_JWT_ISSUER_TOKEN_EXPIRED|${ORDERS}`]: 2,
        [`refused|ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID|${ORDERS}`]: 4,
        [`refused|ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN|${ORDERS}`]: 2,
        'refused|ERR_JWT_ISSUER_TOKEN_MALFORMED|(untrusted)': 3,
        'refused|ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID|(untrusted)': 5,
      },
    );
    // The exact counts by error code alone, as a dashboard would ask.
    await eventually(
      'sum by (error_type) (nest_jwt_issuer_verifications_total{nest_jwt_issuer_outcome="refused"})',
      (r) => byLabels(r, ['error_type']),
      {
        ERR_JWT_ISSUER_TOKEN_EXPIRED: 2,
        ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID: 4,
        ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN: 2,
        ERR_JWT_ISSUER_TOKEN_MALFORMED: 3,
        ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID: 5,
      },
    );
    // Four hits: the good token's third to sixth sight.
    await eventually(
      'nest_jwt_issuer_verified_cache_lookups_total{nest_jwt_issuer_cache_result="hit"}',
      (r) => r.map((x) => x.value),
      [4],
    );
    // The own token made at start-up, and the three createJwt calls.
    await eventually(
      'nest_jwt_issuer_tokens_issued_total',
      (r) => byLabels(r, ['nest_jwt_issuer_token_kind']),
      { service: 4 },
    );
    // One JWKS fetch (the first sight of the trusted issuer); the unknown kid waits for the cool-down.
    await eventually(
      'nest_jwt_issuer_jwks_fetches_total',
      (r) => byLabels(r, ['nest_jwt_issuer_issuer', 'nest_jwt_issuer_outcome']),
      { [`${ORDERS}|success`]: 1, [`${ORDERS}|failure`]: 0 },
    );
    await eventually(
      'nest_jwt_issuer_jwks_fetch_duration_count',
      (r) => byLabels(r, ['nest_jwt_issuer_issuer', 'nest_jwt_issuer_outcome']),
      { [`${ORDERS}|success`]: 1 },
    );
    // 2 + 4 + 3 + 2 + 2 + 5 = 18 refusals; the first 5 are logged in detail, 13 are counted instead.
    await eventually(
      'nest_jwt_issuer_refusal_log_suppressed_total',
      (r) => r.map((x) => x.value),
      [13],
    );
    await eventually(
      'nest_jwt_issuer_verified_cache_size',
      (r) => r.map((x) => x.value),
      [1],
    );
  }, 60_000);

  it('a flood of random issuers and kids leaves the number of series flat', async () => {
    const telemetry = app.get(JwtIssuerTelemetry);
    const seriesQuery = 'count({__name__=~"nest_jwt_issuer_.*"})';
    const flood = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const kid = randomBytes(12).toString('base64url');
        const iss = `https://${randomBytes(8).toString('hex')}.test`;
        const t = forge(
          { alg: 'RS256', kid },
          {
            source: 'microservice',
            iss: i % 2 ? iss : ORDERS,
            sub: kid,
            exp: now() + 600,
          },
          stranger.privateKey,
        );
        expect(await call(bearer(t))).toBe(401);
      }
    };
    await flood(4); // every kind of refusal of the flood has been seen once
    await sleep(600); // two scrapes
    const before = (await prometheus.query(seriesQuery))[0].value;
    const seriesBefore = telemetry.seriesCount();
    await flood(600);
    // Wait for a scrape that has seen the whole flood, then count the series again.
    await eventually(
      'sum(nest_jwt_issuer_verifications_total{nest_jwt_issuer_outcome="refused",error_type=~"ERR_JWT_ISSUER_TOKEN_(CLAIM_INVALID|KEY_UNKNOWN)"})',
      (r) => r.map((x) => x.value),
      [5 + 2 + 604],
    );
    expect(telemetry.seriesCount()).toBe(seriesBefore);
    expect((await prometheus.query(seriesQuery))[0].value).toBe(before);
    // No attribute value came from a token: only configured issuers, the untrusted bucket and library codes.
    const issuers = await prometheus.query(
      'count by (nest_jwt_issuer_issuer) ({__name__=~"nest_jwt_issuer_.*", nest_jwt_issuer_issuer!=""})',
    );
    expect(
      issuers.map((r) => r.metric.nest_jwt_issuer_issuer).toSorted(),
    ).toEqual(['(untrusted)', ORDERS, SELF].toSorted());
  }, 60_000);
});
