import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JWT_ISSUER_ENV_VARS,
  NatsCalloutResponder,
  ServiceTokenService,
} from '../../../lib/index.js';
import { AppModule } from '../../../sample/app.module.js';
import { freePort } from '../../support/broker-process.js';
import { connectWatched } from '../../support/nats-callout.js';
import {
  findNatsServer210,
  type RunningNatsServer,
  startNatsServerWithFile,
} from '../../support/nats-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NATS_ENV = JWT_ISSUER_ENV_VARS.filter((v) =>
  v.path.startsWith('nats.'),
).map((v) => v.env);
const SAMPLE_ENV = [
  'NODE_ENV',
  'SAMPLE_NATS_SERVER_CONF',
  'SAMPLE_NATS_CALLOUT_CONF',
  'SAMPLE_NATS_CALLOUT_PORT',
];

describe('sample app, zero configuration: its auth-callout responder and nats-server -c sample/.dev/nats-callout.conf', () => {
  let dir: string;
  let app: INestApplication;
  let server: RunningNatsServer;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    for (const k of [...NATS_ENV, ...SAMPLE_ENV]) saved[k] = process.env[k];
    for (const k of NATS_ENV) delete process.env[k];
    process.env.NODE_ENV = 'development';
    dir = mkdtempSync(join(tmpdir(), 'nats-callout-sample-'));
    process.env.SAMPLE_NATS_SERVER_CONF = join(dir, 'nats-server.conf');
    process.env.SAMPLE_NATS_CALLOUT_CONF = join(dir, 'nats-callout.conf');
    process.env.SAMPLE_NATS_CALLOUT_PORT = String(await freePort());
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    // The file exactly as the sample wrote it.
    server = await startNatsServerWithFile(
      process.env.SAMPLE_NATS_CALLOUT_CONF,
      [],
      undefined,
      findNatsServer210(),
    );
    await app.get(NatsCalloutResponder).ready();
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await server?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('wrote a config-mode configuration with an xkey and an APP account, holding no seed', () => {
    const conf = readFileSync(process.env.SAMPLE_NATS_CALLOUT_CONF!, 'utf8');
    expect(conf).toMatch(/auth_callout \{/);
    expect(conf).toMatch(/xkey: X[A-Z2-7]{55}/);
    expect(conf).toMatch(/APP \{\}/);
    expect(conf).not.toMatch(/S[AX][A-Z2-7]{56}/);
  });

  it('a client presenting a service token of the sample as token gets users.<sub>.> and teams.<team>.>, nothing else', async () => {
    const token = await app.get(ServiceTokenService).createJwt({
      source: 'microservice',
      sub: 'orders',
      team: 'blue',
      aud: 'nats',
    });
    const c = await connectWatched(server.url, { token });
    try {
      const got: string[] = [];
      c.nc.subscribe('users.orders.>', {
        callback: (_e, m) => void got.push(m.subject),
      });
      c.nc.subscribe('teams.blue.>', {
        callback: (_e, m) => void got.push(m.subject),
      });
      await c.nc.flush();
      c.nc.publish('users.orders.hello', 'x');
      c.nc.publish('teams.blue.hello', 'x');
      c.nc.publish('users.alice.hello', 'x');
      await c.nc.flush();
      await sleep(200);
      expect(got.toSorted()).toEqual([
        'teams.blue.hello',
        'users.orders.hello',
      ]);
      expect(c.errors.join('\n')).toMatch(
        /Permissions Violation for Publish to "users\.alice\.hello"/i,
      );
    } finally {
      await c.nc.close();
    }
  });
});
