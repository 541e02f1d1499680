import 'reflect-metadata';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIssuerHealthIndicator } from '../../../lib/index.js';
import {
  findNatsServer210,
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import {
  configModeSetup,
  connectWatched,
  servicePrivateKeyPem,
} from '../../support/nats-callout.js';
import {
  type CalloutApp,
  NATS_AUDIENCE,
  PERMISSIONS,
  serviceSection,
  startCalloutApp,
} from './callout-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` every 50 ms until it returns `want` (or fails after `ms`). */
async function until<T>(read: () => T, want: T, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (read() !== want) {
    if (Date.now() > end)
      throw new Error(`still ${String(read())}, wanted ${String(want)}`);
    await sleep(50);
  }
}

describe('health and metrics of the auth-callout responder (real nats-server 2.10)', () => {
  const setup = configModeSetup({ xkey: true });
  let server: RunningNatsServer | undefined;
  let callout: CalloutApp;
  let health: JwtIssuerHealthIndicator;
  let port: number;

  const nats = () =>
    health.report().nats as {
      status: string;
      callout?: { status: string; state: string; allowed: number };
    };

  let exporter: PrometheusExporter;

  beforeAll(async () => {
    exporter = new PrometheusExporter({ preventServerStart: true });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
    server = await startNatsServer(setup.config, [], findNatsServer210());
    port = Number(new URL(server.url).port);
    callout = await startCalloutApp({
      nats: {
        callout: {
          servers: [server.url],
          user: setup.calloutUser,
          pass: setup.calloutPass,
          issuerKey: setup.issuerSeed,
          xkey: setup.xkey?.seed,
          account: 'APP',
          authorizer: 'service-token',
          audience: NATS_AUDIENCE,
          permissions: PERMISSIONS,
        },
      },
      service: serviceSection(servicePrivateKeyPem()),
    });
    health = callout.app.get(JwtIssuerHealthIndicator);
  });
  afterAll(async () => {
    await callout?.close();
    await server?.stop();
    metrics.disable();
  });

  it('counts each outcome as nest_jwt_issuer.nats.callout.requests{outcome}', async () => {
    const token = await callout.serviceToken('orders', { team: 'blue' });
    for (let i = 0; i < 2; i++) {
      const ok = await connectWatched(server!.url, { token });
      await ok.nc.close();
    }
    for (const bad of ['garbage', 'eyJhbGciOiJub25lIn0.e30.']) {
      await expect(
        connectWatched(server!.url, { token: bad }),
      ).rejects.toThrow();
    }
    const { resourceMetrics } = await exporter.collect();
    const series = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find(
        (m) => m.descriptor.name === 'nest_jwt_issuer.nats.callout.requests',
      );
    const byOutcome = Object.fromEntries(
      (series?.dataPoints ?? []).map((p) => [
        p.attributes['nest_jwt_issuer.outcome'],
        p.value,
      ]),
    );
    expect(byOutcome).toMatchObject({
      allowed: 2,
      denied: 2,
      invalid: 0,
      shed: 0,
    });
    expect(callout.responder.stats()).toMatchObject({ allowed: 2, denied: 2 });
  });

  it('up while subscribed, down while the server is gone, up again once it is back; no secret in the details', async () => {
    expect(nats()).toMatchObject({
      status: 'up',
      callout: { status: 'up', state: 'connected' },
    });
    expect(health.report().status).toBe('up');

    await server!.stop();
    server = undefined;
    await until(() => nats().callout?.state, 'reconnecting');
    expect(nats()).toMatchObject({
      status: 'down',
      callout: { status: 'down' },
    });
    expect(health.report().status).toBe('down');

    // The same port again (the responder reconnects to the URL it was given).
    server = await startNatsServer(
      setup.config.replace('port: -1', `port: ${port}`),
      [],
      findNatsServer210(),
    );
    await until(() => nats().callout?.state, 'connected', 15_000);
    expect(nats().status).toBe('up');

    const details = JSON.stringify(health.report());
    for (const secret of [
      setup.calloutPass,
      setup.issuerSeed,
      setup.xkey!.seed,
    ])
      expect(details).not.toContain(secret);
  }, 40_000);
});
