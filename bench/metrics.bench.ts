import 'reflect-metadata';
import { createPublicKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { JwtIssuerTelemetry } from '../lib/common/telemetry.js';
import { ServiceTokenService, ServiceTokenVerifier } from '../lib/index.js';
import { compare, median, printTable } from './harness.js';
import {
  benchModule,
  daysOfTraffic,
  keyPair,
  rawVerifier,
  signMany,
  startBenchApp,
  startLoadGenerator,
} from './service-token.bench.js';

const ISSUER = 'https://orders.internal';

/** Median over paired rounds of the second contender's result over the first's. */
const ratio = (xs: number[][]) =>
  median(xs[1].map((x, round) => x / xs[0][round]));

/**
 * Metrics on against metrics off, in the long-running state: two identical apps in this process, the first created
 * before any meter provider exists (its instruments stay no-ops), the second after the OpenTelemetry SDK
 * (`MeterProvider` with the Prometheus exporter, collected every second as a scrape would) is registered. Both
 * verifiers go through the same days of traffic (`BENCH_DISTINCT_TOKENS` distinct tokens, default 300,000), then
 * are measured on a working set of cache hits, and their guarded routes over HTTP (paired rounds).
 */
export default async function (): Promise<void> {
  const distinct = Number(process.env.BENCH_DISTINCT_TOKENS ?? 300_000);
  const label = `${Math.round(distinct / 1000)}k`;
  const es = keyPair('ES256');
  const rs = keyPair('RS256');
  const jwks = createServer((_, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        keys: [
          {
            ...createPublicKey(es).export({ format: 'jwk' }),
            kid: 'lr-ES256',
            alg: 'ES256',
          },
          {
            ...createPublicKey(rs).export({ format: 'jwk' }),
            kid: 'lr-RS256',
            alg: 'RS256',
          },
        ],
      }),
    );
  });
  await new Promise<void>((resolve) =>
    jwks.listen(0, '127.0.0.1', () => resolve()),
  );
  const jwksUri = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`;
  const trusted = [{ issuer: ISSUER, jwksUri, allowHttp: true }];

  const off = await startBenchApp(benchModule(trusted));
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  metrics.setGlobalMeterProvider(provider);
  const scrape = setInterval(() => void exporter.collect(), 1000);
  const on = await startBenchApp(benchModule(trusted));
  try {
    if (
      off.get(JwtIssuerTelemetry).reporting ||
      !on.get(JwtIssuerTelemetry).reporting
    ) {
      throw new Error(
        'expected metrics off in the first app, on in the second',
      );
    }
    const started = performance.now();
    const fillers = await signMany(
      'ES256',
      es,
      'lr-ES256',
      distinct,
      1_000_000,
    );
    const working = await signMany('RS256', rs, 'lr-RS256', 1_000, 0);
    const verifiers = [off, on].map((app) => app.get(ServiceTokenVerifier));
    for (const v of verifiers) {
      await v.verify(fillers[0]); // fetches the JWKS once
      daysOfTraffic((t) => v.verifySync(t), fillers, working);
    }
    fillers.length = 0;
    console.log(
      `\nLong-running state for metrics off and on: ${distinct.toLocaleString('en-US')} distinct ES256 tokens through each app's verifier (${((performance.now() - started) / 1000).toFixed(1)} s), caches full (${verifiers[0].cachedTokens.toLocaleString('en-US')} and ${verifiers[1].cachedTokens.toLocaleString('en-US')} entries).`,
    );
    const raw = rawVerifier('RS256', createPublicKey(rs));
    let a = 0;
    let b = 0;
    let r = 0;
    let c = 0;
    let a2 = 0;
    // What the design avoids: a synchronous OpenTelemetry counter per verification (the SDK hashes the attributes
    // of every call). Measured on the metrics-off verifier, so the counting is not done twice.
    const sync = provider
      .getMeter('bench')
      .createCounter('bench.sync_verifications');
    const attributes = {
      'nest_jwt_issuer.outcome': 'valid',
      'nest_jwt_issuer.issuer': ISSUER,
    };
    await compare(
      `Verifier cache hit, RS256, after ${label} distinct tokens: metrics off vs on (tokens/s)`,
      [
        {
          name: 'metrics off: no meter provider (baseline)',
          fn: () => verifiers[0].verifySync(working[a++ % working.length]),
        },
        {
          name: 'metrics on: OpenTelemetry SDK registered, collected every second',
          fn: () => verifiers[1].verifySync(working[b++ % working.length]),
        },
        {
          name: 'metrics off again (A/A: the noise of this comparison)',
          fn: () => verifiers[0].verifySync(working[a2++ % working.length]),
        },
        {
          name: 'for comparison: metrics off + a synchronous OpenTelemetry counter.add per call',
          fn: () => {
            const claims = verifiers[0].verifySync(
              working[c++ % working.length],
            );
            sync.add(1, attributes);
            return claims;
          },
        },
        {
          name: 'raw node:crypto verify (reference, no cache)',
          fn: () => raw(working[r++ % working.length]),
        },
      ],
    );
    await guardedRoutes(off, on, label);
  } finally {
    clearInterval(scrape);
    await off.close();
    await on.close();
    await provider.shutdown();
    metrics.disable();
    jwks.close();
  }
}

/** The guarded route of each app, in paired rounds (off, on / on, off …): server capacity and requests/s. */
async function guardedRoutes(
  off: INestApplication,
  on: INestApplication,
  label: string,
): Promise<void> {
  const targets = await Promise.all(
    [off, on].map(async (app) => ({
      port: ((app.getHttpServer() as Server).address() as { port: number })
        .port,
      authorization: await app.get(ServiceTokenService).authorizationHeader(),
    })),
  );
  const duration = Number(process.env.BENCH_HTTP_SECONDS ?? 1);
  const rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 12);
  const load = startLoadGenerator();
  const run = (i: number) =>
    load.run({
      url: `http://127.0.0.1:${targets[i].port}/guarded`,
      connections: 10,
      duration,
      headers: { authorization: targets[i].authorization },
    });
  await run(0); // warm-up (also fills each verified-token cache)
  await run(1);
  const capacity: number[][] = [[], []];
  const rps: number[][] = [[], []];
  for (let round = 0; round < rounds; round++) {
    for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const before = performance.eventLoopUtilization();
      const res = await run(i);
      const busyMs = performance.eventLoopUtilization(before).active;
      if (res.non2xx > 0 || res.errors > 0) {
        throw new Error(`${res.non2xx} non-2xx, ${res.errors} errors`);
      }
      capacity[i].push(res.completed / (busyMs / 1000));
      rps[i].push(res.requests.average);
    }
  }
  await load.stop();
  const names = [
    'guarded route, metrics off (baseline)',
    'guarded route, metrics on (OpenTelemetry SDK registered)',
  ];
  printTable(
    `HTTP, Express, ServiceTokenGuard after ${label} distinct tokens, metrics off vs on: server capacity (requests per second of server-thread busy time, median of ${rounds} paired rounds)`,
    names.map((name, i) => ({
      name,
      opsPerSec: median(capacity[i]),
      ratio: i === 0 ? 1 : ratio(capacity),
    })),
  );
  printTable(
    `HTTP, Express, same routes: requests/s seen by autocannon (median of ${rounds} rounds; ratio: median of the paired rounds)`,
    names.map((name, i) => ({
      name,
      opsPerSec: median(rps[i]),
      ratio: i === 0 ? 1 : ratio(rps),
    })),
  );
}
