import 'reflect-metadata';
import { headers } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import {
  type ClientProxy,
  NatsRecordBuilder,
  Transport,
} from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withServiceToken } from '../../../lib/index.js';
import { headerOf, rsaKeys } from '../../support/forge.js';
import {
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import {
  LogCollector,
  type RunningApp,
} from '../../support/service-token-apps.js';
import {
  connectNatsClient,
  handledFor,
  M1_ISSUER,
  m2Service,
  NatsReceiverController,
  natsRecord as record,
  refusalCases,
  startM1,
  startMicroservice,
  waitFor,
} from '../../support/service-token-transports.js';

describe('M1 → M2 over the NATS transport (real nats-server), the guard on M2’s handlers', () => {
  const keys = rsaKeys();
  const logs = new LogCollector();
  let nats: RunningNatsServer;
  let m1: RunningApp;
  let m2: INestMicroservice;
  let client: ClientProxy;
  let nextId = 0;

  beforeAll(async () => {
    nats = await startNatsServer('host: 127.0.0.1\nport: -1\n');
    m1 = await startM1(keys.privatePem);
    m2 = await startMicroservice(
      m2Service(m1),
      { transport: Transport.NATS, options: { servers: [nats.url] } },
      [NatsReceiverController],
      logs,
    );
    client = await connectNatsClient(nats.url);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await m2?.close();
    await m1?.app.close();
    await nats?.stop();
  });

  it('a request with M1’s token (withServiceToken + NatsRecordBuilder) is handled; @ServiceClaims gives the caller', async () => {
    const id = ++nextId;
    const h = await withServiceToken(m1.service, headers());
    const reply = await firstValueFrom(
      client.send(
        'billing.whoami',
        new NatsRecordBuilder({ id }).setHeaders(h).build(),
      ),
    );
    expect(reply).toEqual({
      caller: { issuer: M1_ISSUER, subject: 'm1' },
      data: { id },
      sub: 'm1',
    });
    expect(handledFor(id)).toHaveLength(1);
  });

  let staticKid = '';
  const refusals = () =>
    refusalCases(
      () => m1.service,
      M1_ISSUER,
      keys.privateKey,
      () => staticKid,
    );
  beforeAll(async () => {
    staticKid = headerOf(await m1.service.getToken()).kid as string;
  });

  it.each(refusals())(
    'a request with %s is refused with { statusCode: 401 } and the handler does not run (%s logged)',
    async (_name, code, make) => {
      const id = ++nextId;
      const before = logs.lines.length;
      await expect(
        firstValueFrom(
          client.send('billing.whoami', record({ id }, await make())),
        ),
      ).rejects.toEqual({ statusCode: 401, message: 'Unauthorized' });
      expect(handledFor(id)).toHaveLength(0);
      const logged = logs.lines
        .slice(before)
        .filter((l) => l.includes('Refused service token'));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain(
        `rpc NatsReceiverController.whoami: ERR_JWT_ISSUER_${code}`,
      );
    },
  );

  it('a valid token of an issuer the handler does not allow gets { statusCode: 403 }', async () => {
    const id = ++nextId;
    await expect(
      firstValueFrom(
        client.send(
          'billing.restricted',
          record({ id }, await m1.service.authorizationHeader()),
        ),
      ),
    ).rejects.toEqual({ statusCode: 403, message: 'Forbidden' });
    expect(handledFor(id)).toHaveLength(0);
  });

  const send = async (scope: string) => {
    const id = ++nextId;
    const token = await m1.service.createJwt({
      source: 'microservice',
      sub: 'm1',
      scope,
    });
    const reply = firstValueFrom(
      client.send('billing.scoped', record({ id }, `Bearer ${token}`)),
    );
    return { id, reply };
  };

  it('a valid token without the scopes the handler requires gets { statusCode: 403 }; with them it is handled', async () => {
    const without = await send('invoices:read');
    await expect(without.reply).rejects.toEqual({
      statusCode: 403,
      message: 'Forbidden',
    });
    expect(handledFor(without.id)).toHaveLength(0);
    const granted = await send('invoices:read invoices:write');
    await expect(granted.reply).resolves.toBe('scoped');
    expect(handledFor(granted.id)).toHaveLength(1);
    expect(logs.lines.join('\n')).toContain(
      'ERR_JWT_ISSUER_SCOPE_INSUFFICIENT',
    );
  });

  it('an event with M1’s token is handled; events without a valid token are dropped and logged', async () => {
    const refused = refusals();
    const ids: number[] = [];
    const before = logs.lines.length;
    for (const [, , make] of refused) {
      const id = ++nextId;
      ids.push(id);
      await lastValueFrom(
        client.emit('billing.audit', record({ id }, await make())),
        { defaultValue: undefined },
      );
    }
    const good = ++nextId;
    await lastValueFrom(
      client.emit(
        'billing.audit',
        record({ id: good }, await m1.service.authorizationHeader()),
      ),
      { defaultValue: undefined },
    );
    await waitFor(() => handledFor(good).length === 1, 'the valid event');
    const refusedLines = () =>
      logs.lines
        .slice(before)
        .filter((l) =>
          l.includes(
            'Refused service token on rpc NatsReceiverController.audit',
          ),
        );
    await waitFor(
      () => refusedLines().length === refused.length,
      'one refusal line per bad event',
    );
    expect(handledFor(good)[0].caller).toEqual({
      issuer: M1_ISSUER,
      subject: 'm1',
    });
    for (const id of ids) expect(handledFor(id)).toHaveLength(0);
    const text = refusedLines().join('\n');
    for (const [, code] of refused)
      expect(text).toContain(`ERR_JWT_ISSUER_${code}`);
  });

  it('never logs a token', async () => {
    const all = logs.lines.join('\n');
    expect(all).not.toContain((await m1.service.getToken()).split('.')[2]);
  });
});
