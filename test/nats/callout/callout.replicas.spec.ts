import 'reflect-metadata';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIssuerModule, ServiceTokenService } from '../../../lib/index.js';
import {
  configModeSetup,
  servicePrivateKeyPem,
} from '../../support/nats-callout.js';
import {
  findNatsServer210,
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import { compileLibrary } from '../../support/replica-fleet.js';
import { NATS_AUDIENCE, SERVICE_ISSUER } from './callout-app.js';
import { Responder, responderEnv } from './responder-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('auth callout: responder processes in a queue group against a real nats-server 2.10', () => {
  const setup = configModeSetup({ xkey: true });
  const pem = servicePrivateKeyPem();
  let server: RunningNatsServer;
  let lib: string;
  let issuer: INestApplicationContext;
  let tokens: ServiceTokenService;
  const responders: Responder[] = [];
  const env = () => responderEnv(server.url, setup, pem);
  const start = async () => {
    const r = await Responder.start(lib, env());
    responders.push(r);
    return r;
  };

  /** Connects `n` clients at once (staggered by `gapMs`); resolves with how many got in and the errors. */
  async function burst(n: number, gapMs = 0, during?: (i: number) => void) {
    const token = await tokens.createJwt(
      {
        source: 'microservice',
        sub: 'orders',
        team: 'blue',
        aud: NATS_AUDIENCE,
      },
      { validitySeconds: 300 },
    );
    const attempts: Promise<string>[] = [];
    for (let i = 0; i < n; i++) {
      during?.(i);
      attempts.push(
        connect({
          servers: server.url,
          token,
          reconnect: false,
          timeout: 5000,
        }).then(
          async (nc) => {
            await nc.close();
            return 'ok';
          },
          (e: Error) => e.message,
        ),
      );
      if (gapMs) await sleep(gapMs);
    }
    const outcomes = await Promise.all(attempts);
    return {
      ok: outcomes.filter((o) => o === 'ok').length,
      errors: outcomes.filter((o) => o !== 'ok'),
    };
  }

  beforeAll(async () => {
    lib = compileLibrary('.callout-test/replicas');
    server = await startNatsServer(setup.config, [], findNatsServer210());
    // oxlint-disable-next-line no-extraneous-class -- a Nest module class, decorated below
    class IssuerModule {}
    Module({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: {
            name: 'auth',
            issuer: SERVICE_ISSUER,
            algorithm: 'EdDSA',
            privateKey: pem,
            publishJwks: false,
          },
        }),
      ],
    })(IssuerModule);
    issuer = await NestFactory.createApplicationContext(IssuerModule, {
      logger: ['error'],
    });
    tokens = issuer.get(ServiceTokenService);
  }, 120_000);
  afterAll(async () => {
    for (const r of responders) await r.kill('SIGKILL');
    await issuer?.close();
    await server?.stop();
  });

  it('two replicas share the requests of a burst', async () => {
    const [a, b] = [await start(), await start()];
    const { ok, errors } = await burst(60);
    expect(errors).toEqual([]);
    expect(ok).toBe(60);
    const [sa, sb] = [await a.stats(), await b.stats()];
    expect(sa.allowed + sb.allowed).toBe(60);
    expect(sa.allowed).toBeGreaterThan(0);
    expect(sb.allowed).toBeGreaterThan(0);
  }, 60_000);

  it('one replica killed mid-burst loses only its in-flight requests: the rest and every later client get in', async () => {
    const [a, b] = responders;
    const before = await b.stats();
    let killed: Promise<void> | undefined;
    const { ok, errors } = await burst(80, 5, (i) => {
      if (i === 30) killed = a.kill('SIGKILL');
    });
    await killed;
    // Whatever A held when it died times out (the server's 2 s); nothing else fails.
    expect(ok + errors.length).toBe(80);
    expect(errors.length).toBeLessThanOrEqual(10);
    for (const e of errors) expect(e).toMatch(/authorization|timeout/i);
    const after = await b.stats();
    expect(after.allowed - before.allowed).toBeGreaterThanOrEqual(80 - 30 - 10);
    const later = await burst(20);
    expect(later.errors).toEqual([]);
  }, 60_000);

  it('with every responder gone new clients are refused; once one is back (restarted), they connect again', async () => {
    for (const r of responders) await r.kill('SIGTERM');
    const refused = await burst(1);
    expect(refused.ok).toBe(0);
    await start();
    const back = await burst(10);
    expect(back.errors).toEqual([]);
  }, 60_000);

  it('no secret in any responder log line', () => {
    const all = responders.map((r) => r.log()).join('\n');
    expect(all).toContain('NATS auth callout');
    for (const secret of [
      setup.calloutPass,
      setup.issuerSeed,
      setup.xkey!.seed,
      pem.split('\n')[1],
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT
  });
});
