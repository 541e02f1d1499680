import 'reflect-metadata';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIssuerModule } from '../../lib/index.js';
import { ServiceTokenController } from '../../sample/service-token/service-token.controller.js';
import { serviceTokenSampleOptions } from '../../sample/service-token/service-token.sample-options.js';
import { captureOutput } from '../support/capture-output.js';
import { LogCollector } from '../support/service-token-apps.js';

describe('sample: service-token routes', () => {
  let app: Awaited<ReturnType<typeof start>>;
  const logs = new LogCollector();
  const dir = mkdtempSync(join(tmpdir(), 'service-sample-'));

  async function start() {
    @Module({
      imports: [
        JwtIssuerModule.forRootAsync({
          useFactory: async () => ({
            ignoreEnvVars: true,
            service: await serviceTokenSampleOptions({
              PORT: '0',
              SAMPLE_DEV_DIR: dir,
            }),
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
    rmSync(dir, { recursive: true, force: true });
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
  });

  it('keeps its development key in the dev folder (0600), reuses it, and logs the CLI line that mints a token it trusts', async () => {
    expect(statSync(join(dir, 'service-key.pem')).mode & 0o777).toBe(0o600);
    const { result: again, output } = await captureOutput(() =>
      serviceTokenSampleOptions({ PORT: '0', SAMPLE_DEV_DIR: dir }),
    );
    expect(output).toContain('DEVELOPMENT service key reused');
    expect(output).toContain(
      `npm run -s cli -- token service --key ${join(dir, 'service-key.pem')} --iss http://127.0.0.1:0 --sub alice --claim team=blue`,
    );
    expect(output).not.toContain('PRIVATE KEY');
    expect(again?.privateKey).toBe(join(dir, 'service-key.pem'));
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
