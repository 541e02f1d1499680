import 'reflect-metadata';
import type { Server } from 'node:http';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIssuerModule } from '../../lib/index.js';
import { ServiceTokenController } from '../../sample/service-token/service-token.controller.js';
import { serviceTokenSampleOptions } from '../../sample/service-token/service-token.sample-options.js';
import { LogCollector } from '../support/service-token-apps.js';

describe('sample: service-token routes', () => {
  let app: Awaited<ReturnType<typeof start>>;
  const logs = new LogCollector();

  async function start() {
    @Module({
      imports: [
        JwtIssuerModule.forRootAsync({
          useFactory: async () => ({
            ignoreEnvVars: true,
            service: await serviceTokenSampleOptions({ PORT: '0' }),
          }),
        }),
      ],
      controllers: [ServiceTokenController],
    })
    class SampleModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [SampleModule],
    }).compile();
    const nest = moduleRef.createNestApplication();
    nest.useLogger(logs);
    await nest.listen(0, '127.0.0.1');
    const port = (
      (nest.getHttpServer() as Server).address() as { port: number }
    ).port;
    return { nest, url: `http://127.0.0.1:${port}` };
  }

  beforeAll(async () => {
    app = await start();
  });
  afterAll(async () => {
    await app?.nest.close();
  });

  it('calls its guarded internal route over HTTP with its own token', async () => {
    const out = (await (
      await fetch(`${app.url}/service-token/call-internal`)
    ).json()) as {
      status: number;
      body: { caller: string };
    };
    expect(out.status).toBe(200);
    expect(out.body.caller).toBe('sample');
  });

  it('the internal route refuses callers without a token, and the JWKS is served', async () => {
    const res = await fetch(`${app.url}/service-token/internal/report`);
    expect(res.status).toBe(401);
    expect((await fetch(`${app.url}/.well-known/jwks.json`)).status).toBe(200);
    expect(logs.lines.join('\n')).toMatch(/signs with a DEVELOPMENT key/);
  });

  it('sample options: env wins, production gets nothing so the sample’s require reports what is missing', async () => {
    expect(
      await serviceTokenSampleOptions({ JWT_ISSUER_SERVICE_NAME: 'x' }),
    ).toBeUndefined();
    expect(
      await serviceTokenSampleOptions({ NODE_ENV: 'production' }),
    ).toBeUndefined();
  });
});
