import 'reflect-metadata';
import { headers } from '@nats-io/transport-node';
import type { INestApplication, INestMicroservice, Type } from '@nestjs/common';
import {
  type ClientProxy,
  ClientProxyFactory,
  NatsRecordBuilder,
  Transport,
} from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerError,
  ServiceTokenGuard,
  ServiceTokenService,
  withServiceToken,
} from '../../../lib/index.js';
import { freePort } from '../../support/broker-process.js';
import {
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import { LogCollector } from '../../support/service-token-apps.js';
import {
  connectNatsClient,
  handledFor,
  NatsReceiverController,
  startHybridApp,
  startMicroservice,
  waitFor,
} from '../../support/service-token-transports.js';

const SELF = { name: 'hybrid', issuer: 'http://hybrid.test' };

describe('a hybrid app (HTTP + NATS transport) with ServiceTokenGuard as APP_GUARD', () => {
  let nats: RunningNatsServer;
  let client: ClientProxy;
  let nextId = 1000;

  beforeAll(async () => {
    nats = await startNatsServer('host: 127.0.0.1\nport: -1\n');
    client = await connectNatsClient(nats.url);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await nats?.stop();
  });

  /** Starts the app, runs the checks, closes it (each setting has its own app on the same subjects). */
  async function withApp(
    guard: Type,
    inheritAppConfig: boolean,
    run: (
      app: INestApplication,
      url: string,
      tokens: ServiceTokenService,
    ) => Promise<void>,
  ): Promise<void> {
    const logs = new LogCollector();
    const { app, url } = await startHybridApp(SELF, nats.url, {
      guard,
      inheritAppConfig,
      logger: logs,
    });
    try {
      await run(app, url, app.get(ServiceTokenService));
    } finally {
      await app.close();
    }
  }

  const request = async (
    pattern: string,
    id: number,
    tokens?: ServiceTokenService,
  ): Promise<unknown> => {
    const h = tokens ? await withServiceToken(tokens, headers()) : headers();
    return firstValueFrom(
      client.send(pattern, new NatsRecordBuilder({ id }).setHeaders(h).build()),
    );
  };

  it('inheritAppConfig: true: both the HTTP route and the NATS handlers are guarded; @SkipServiceAuth still opens one', async () => {
    await withApp(ServiceTokenGuard, true, async (_app, url, tokens) => {
      expect((await fetch(`${url}/hybrid/whoami`)).status).toBe(401);
      const ok = await fetch(`${url}/hybrid/whoami`, {
        headers: { authorization: await tokens.authorizationHeader() },
      });
      expect(await ok.json()).toEqual({
        issuer: SELF.issuer,
        subject: 'hybrid',
      });

      const refused = ++nextId;
      await expect(request('hybrid.whoami', refused)).rejects.toEqual({
        statusCode: 401,
        message: 'Unauthorized',
      });
      expect(handledFor(refused)).toHaveLength(0);
      const accepted = ++nextId;
      expect(await request('hybrid.whoami', accepted, tokens)).toEqual({
        caller: { issuer: SELF.issuer, subject: 'hybrid' },
        data: { id: accepted },
      });
      expect(await request('hybrid.public', ++nextId)).toMatchObject({
        public: true,
      });

      // Events: the unsigned one is dropped, the signed one handled.
      const dropped = ++nextId;
      const kept = ++nextId;
      await lastValueFrom(
        client.emit(
          'hybrid.audit',
          new NatsRecordBuilder({ id: dropped }).setHeaders(headers()).build(),
        ),
        { defaultValue: undefined },
      );
      await lastValueFrom(
        client.emit(
          'hybrid.audit',
          new NatsRecordBuilder({ id: kept })
            .setHeaders(await withServiceToken(tokens, headers()))
            .build(),
        ),
        { defaultValue: undefined },
      );
      await waitFor(() => handledFor(kept).length === 1, 'the signed event');
      expect(handledFor(dropped)).toHaveLength(0);
    });
  });

  it('inheritAppConfig: false: Nest does not apply the global guard to the NATS handlers (docs/transports.md warns)', async () => {
    await withApp(ServiceTokenGuard, false, async (_app, url) => {
      expect((await fetch(`${url}/hybrid/whoami`)).status).toBe(401);
      const id = ++nextId;
      // No token, and the handler runs: only inheritAppConfig: true (or @UseGuards on the handler) guards it.
      expect(await request('hybrid.whoami', id)).toEqual({ data: { id } });
      expect(handledFor(id)).toHaveLength(1);
    });
  });

  it("ServiceTokenGuard.with({ contexts: ['http'] }): the HTTP route is guarded, NATS calls pass through on purpose", async () => {
    await withApp(
      ServiceTokenGuard.with({ contexts: ['http'] }),
      true,
      async (_app, url) => {
        expect((await fetch(`${url}/hybrid/whoami`)).status).toBe(401);
        const id = ++nextId;
        expect(await request('hybrid.whoami', id)).toEqual({ data: { id } });
      },
    );
  });

  it("ServiceTokenGuard.with({ contexts: ['rpc'] }): NATS is guarded, the HTTP route passes through", async () => {
    await withApp(
      ServiceTokenGuard.with({ contexts: ['rpc'] }),
      true,
      async (_app, url, tokens) => {
        expect((await fetch(`${url}/hybrid/whoami`)).status).toBe(200);
        await expect(request('hybrid.whoami', ++nextId)).rejects.toEqual({
          statusCode: 401,
          message: 'Unauthorized',
        });
        const id = ++nextId;
        expect(await request('hybrid.whoami', id, tokens)).toMatchObject({
          data: { id },
        });
      },
    );
  });

  it('ServiceTokenGuard.with refuses an empty or unknown context list', () => {
    expect(() => ServiceTokenGuard.with({ contexts: [] })).toThrow(
      JwtIssuerError,
    );
    expect(() =>
      ServiceTokenGuard.with({ contexts: ['sse' as 'http'] }),
    ).toThrow(
      /contexts must be a non-empty list of 'http', 'rpc', 'graphql', 'ws'/,
    );
  });
});

describe('a transport without headers (TCP)', () => {
  let m2: INestMicroservice;
  let client: ClientProxy;
  const logs = new LogCollector();

  beforeAll(async () => {
    const port = await freePort();
    m2 = await startMicroservice(
      SELF,
      { transport: Transport.TCP, options: { host: '127.0.0.1', port } },
      [NatsReceiverController],
      logs,
    );
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await m2?.close();
  });

  it('cannot carry a token, so every guarded call is refused (never let through)', async () => {
    const id = 99_999;
    await expect(
      firstValueFrom(client.send('billing.whoami', { id })),
    ).rejects.toEqual({ statusCode: 401, message: 'Unauthorized' });
    expect(handledFor(id)).toHaveLength(0);
    expect(logs.lines.join('\n')).toContain(
      'rpc NatsReceiverController.whoami: ERR_JWT_ISSUER_TOKEN_MISSING',
    );
  });
});
