import 'reflect-metadata';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIssuerModule, ServiceTokenService } from '../../../lib/index.js';
import {
  configModeSetup,
  rawConnectWith,
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

// A load test, bounded in count (1,000 clients) and time (each attempt 10 s at most): the server's default auth
// timeout (2 s) is the bar every client must pass, with one responder process and xkey on. The machine is shared.
describe('auth callout under load: 1,000 clients connecting at once through one responder, xkey on', () => {
  const setup = configModeSetup({ xkey: true });
  const pem = servicePrivateKeyPem();
  let server: RunningNatsServer;
  let responder: Responder;
  let issuer: INestApplicationContext;

  beforeAll(async () => {
    const lib = compileLibrary('.callout-test/load');
    server = await startNatsServer(
      setup.config.replace('debug: true', 'debug: false'),
      [],
      findNatsServer210(),
    );
    responder = await Responder.start(
      lib,
      responderEnv(server.url, setup, pem),
    );
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
  }, 120_000);
  afterAll(async () => {
    await responder?.kill('SIGTERM');
    await issuer?.close();
    await server?.stop();
  });

  it('every one of them is authorized before the server gives up (2 s)', async () => {
    const tokens = issuer.get(ServiceTokenService);
    // Distinct tokens (a cache of verified tokens would otherwise make all but one free).
    const list = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        tokens.createJwt(
          {
            source: 'microservice',
            sub: `svc${i}`,
            team: 'blue',
            aud: NATS_AUDIENCE,
          },
          { validitySeconds: 300 },
        ),
      ),
    );
    const started = Date.now();
    const outcomes = await Promise.all(
      list.map((token) =>
        rawConnectWith(server.port, { auth_token: token }).catch(
          (e: Error) => e.message,
        ),
      ),
    );
    const elapsed = Date.now() - started;
    const failed = outcomes.filter((o) => o !== 'ok');
    const stats = await responder.stats();
    expect({ failed: failed.length, sample: failed.slice(0, 3) }).toEqual({
      failed: 0,
      sample: [],
    });
    expect(stats.allowed).toBe(1000);
    expect(stats.shed + stats.overloaded).toBe(0);
    // Reported, not asserted as a speed: the bar is the server's timeout, which every client passed.
    console.log(
      `1,000 callout connects, xkey on: ${elapsed} ms in all (shared 2-core machine)`,
    );
  }, 60_000);
});
