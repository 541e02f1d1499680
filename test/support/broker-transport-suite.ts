import 'reflect-metadata';
import type { INestMicroservice } from '@nestjs/common';
import type { ClientProxy, MicroserviceOptions } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerOf, rsaKeys } from './forge.js';
import { LogCollector, type RunningApp } from './service-token-apps.js';
import {
  handledFor,
  M1_ISSUER,
  m2Service,
  NatsReceiverController,
  refusalCases,
  startM1,
  startMicroservice,
  waitFor,
} from './service-token-transports.js';

/** A broker-based transport under test: how to start its broker, and its server, client and record. */
export interface BrokerTransport {
  /** Shown in the test titles: `RabbitMQ (real rabbitmq-server)`. */
  name: string;
  startBroker(): Promise<{ url: string; stop(): Promise<void> }>;
  server(url: string): MicroserviceOptions;
  client(url: string): ClientProxy;
  /** The record a caller sends: `data` with `authorization` in the transport's headers (none when undefined). */
  record(data: unknown, authorization: string | undefined): unknown;
  /** A client of the transport whose protocol has no place for headers (MQTT 3.1.1): its calls are refused. */
  headerlessClient?: { name: string; create(url: string): ClientProxy };
}

/**
 * M1 → M2 through a real broker: M1 (HTTP, publishes its JWKS) signs the tokens, M2 is a Nest microservice on the
 * transport with {@link NatsReceiverController}'s handlers (their patterns are plain names any transport carries),
 * guarded by `ServiceTokenGuard`, and a Nest `ClientProxy` sends the calls.
 */
export function describeGuardOverBroker(transport: BrokerTransport): void {
  describe(`M1 → M2 over ${transport.name}, the guard on M2’s handlers`, () => {
    const keys = rsaKeys();
    const logs = new LogCollector();
    let broker: { url: string; stop(): Promise<void> } | undefined;
    let m1: RunningApp | undefined;
    let m2: INestMicroservice | undefined;
    let client: ClientProxy | undefined;
    let staticKid = '';
    let nextId = 1000;

    beforeAll(async () => {
      broker = await transport.startBroker();
      m1 = await startM1(keys.privatePem);
      m2 = await startMicroservice(
        // Every refusal of this suite is asserted on its detailed log line: keep them all under the budget.
        m2Service(m1, { refusalLogLines: 100 }),
        transport.server(broker.url),
        [NatsReceiverController],
        logs,
      );
      client = transport.client(broker.url);
      await client.connect();
      staticKid = headerOf(await m1.service.getToken()).kid as string;
    }, 120_000);
    afterAll(async () => {
      await client?.close();
      await m2?.close();
      await m1?.app.close();
      await broker?.stop();
    }, 60_000);

    const tokens = () => (m1 as RunningApp).service;
    const send = (data: unknown, authorization: string | undefined) =>
      firstValueFrom(
        (client as ClientProxy).send(
          'billing.whoami',
          transport.record(data, authorization),
        ),
      );
    const refusals = () =>
      refusalCases(tokens, M1_ISSUER, keys.privateKey, () => staticKid);
    const refusedLines = (from: number, handler: string) =>
      logs.lines
        .slice(from)
        .filter((l) =>
          l.includes(
            `Refused service token on rpc NatsReceiverController.${handler}`,
          ),
        );

    it('a request with M1’s token in the message headers is handled; @ServiceClaims gives the caller', async () => {
      const id = ++nextId;
      const reply = await send({ id }, await tokens().authorizationHeader());
      expect(reply).toEqual({
        caller: { issuer: M1_ISSUER, subject: 'm1' },
        data: { id },
        sub: 'm1',
      });
      expect(handledFor(id)).toHaveLength(1);
    });

    it.each(refusals())(
      'a request with %s is refused with { statusCode: 401 } and the handler does not run (%s logged)',
      async (_name, code, make) => {
        const id = ++nextId;
        const before = logs.lines.length;
        await expect(send({ id }, await make())).rejects.toEqual({
          statusCode: 401,
          message: 'Unauthorized',
        });
        expect(handledFor(id)).toHaveLength(0);
        const logged = refusedLines(before, 'whoami');
        expect(logged).toHaveLength(1);
        expect(logged[0]).toContain(`ERR_JWT_ISSUER_${code}`);
      },
    );

    it('an event with M1’s token is handled; events without a valid token are dropped and logged', async () => {
      const refused = refusals();
      const ids: number[] = [];
      const before = logs.lines.length;
      for (const [, , make] of refused) {
        const id = ++nextId;
        ids.push(id);
        await lastValueFrom(
          (client as ClientProxy).emit(
            'billing.audit',
            transport.record({ id }, await make()),
          ),
          { defaultValue: undefined },
        );
      }
      const good = ++nextId;
      await lastValueFrom(
        (client as ClientProxy).emit(
          'billing.audit',
          transport.record({ id: good }, await tokens().authorizationHeader()),
        ),
        { defaultValue: undefined },
      );
      await waitFor(() => handledFor(good).length === 1, 'the valid event');
      await waitFor(
        () => refusedLines(before, 'audit').length === refused.length,
        'one refusal line per bad event',
      );
      expect(handledFor(good)[0].caller).toEqual({
        issuer: M1_ISSUER,
        subject: 'm1',
      });
      for (const id of ids) expect(handledFor(id)).toHaveLength(0);
      const text = refusedLines(before, 'audit').join('\n');
      for (const [, code] of refused)
        expect(text).toContain(`ERR_JWT_ISSUER_${code}`);
    });

    const headerless = transport.headerlessClient;
    if (headerless) {
      it(`a call from ${headerless.name} cannot carry the token: refused with { statusCode: 401 } (TOKEN_MISSING logged)`, async () => {
        const other = headerless.create((broker as { url: string }).url);
        try {
          await other.connect();
          const id = ++nextId;
          const before = logs.lines.length;
          await expect(
            firstValueFrom(
              other.send(
                'billing.whoami',
                transport.record({ id }, await tokens().authorizationHeader()),
              ),
            ),
          ).rejects.toEqual({ statusCode: 401, message: 'Unauthorized' });
          expect(handledFor(id)).toHaveLength(0);
          const logged = refusedLines(before, 'whoami');
          expect(logged).toHaveLength(1);
          expect(logged[0]).toContain('ERR_JWT_ISSUER_TOKEN_MISSING');
        } finally {
          await other.close();
        }
      });
    }

    it('never logs a token', async () => {
      const all = logs.lines.join('\n');
      expect(all).not.toContain((await tokens().getToken()).split('.')[2]);
    });
  });
}
