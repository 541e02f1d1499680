import 'reflect-metadata';
import { Metadata } from '@grpc/grpc-js';
import type { INestMicroservice } from '@nestjs/common';
import {
  type ClientGrpc,
  ClientProxyFactory,
  Transport,
} from '@nestjs/microservices';
import { firstValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withServiceToken } from '../../../lib/index.js';
import { headerOf, rsaKeys } from '../../support/forge.js';
import {
  LogCollector,
  type RunningApp,
} from '../../support/service-token-apps.js';
import { freePort } from '../../support/broker-process.js';
import {
  BILLING_PROTO,
  GrpcReceiverController,
  handledFor,
  M1_ISSUER,
  m2Service,
  refusalCases,
  startM1,
  startMicroservice,
} from '../../support/service-token-transports.js';

interface Billing {
  whoAmI(
    data: { note: string },
    metadata: Metadata,
  ): Observable<{ issuer: string; subject: string; note: string }>;
  restricted(data: { note: string }, metadata: Metadata): Observable<unknown>;
  scoped(data: { note: string }, metadata: Metadata): Observable<unknown>;
}

describe('M1 → M2 over gRPC (@grpc/grpc-js on 127.0.0.1), the guard on M2’s methods', () => {
  const keys = rsaKeys();
  const logs = new LogCollector();
  let m1: RunningApp;
  let m2: INestMicroservice;
  let client: ClientGrpc & { close(): unknown };
  let billing: Billing;
  let staticKid = '';
  let nextId = 0;

  beforeAll(async () => {
    m1 = await startM1(keys.privatePem);
    staticKid = headerOf(await m1.service.getToken()).kid as string;
    const url = `127.0.0.1:${await freePort()}`;
    const grpc = { package: 'billing', protoPath: BILLING_PROTO, url };
    m2 = await startMicroservice(
      m2Service(m1),
      { transport: Transport.GRPC, options: grpc },
      [GrpcReceiverController],
      logs,
    );
    client = ClientProxyFactory.create({
      transport: Transport.GRPC,
      options: grpc,
    }) as unknown as ClientGrpc & { close(): unknown };
    billing = client.getService<Billing>('Billing');
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await m2?.close();
    await m1?.app.close();
  });

  it('a call with M1’s token in the metadata (withServiceToken) is handled; @ServiceClaims gives the caller', async () => {
    const note = `grpc-${++nextId}`;
    const reply = await firstValueFrom(
      billing.whoAmI(
        { note },
        await withServiceToken(m1.service, new Metadata()),
      ),
    );
    expect(reply).toEqual({ issuer: M1_ISSUER, subject: 'm1', note });
    expect(handledFor(note)).toHaveLength(1);
  });

  it.each(
    refusalCases(
      () => m1.service,
      M1_ISSUER,
      keys.privateKey,
      () => staticKid,
    ),
  )(
    'a call with %s fails with status UNAUTHENTICATED and the method does not run (%s logged)',
    async (_name, code, make) => {
      const note = `grpc-${++nextId}`;
      const metadata = new Metadata();
      const authorization = await make();
      if (authorization !== undefined)
        metadata.set('authorization', authorization);
      const before = logs.lines.length;
      await expect(
        firstValueFrom(billing.whoAmI({ note }, metadata)),
      ).rejects.toMatchObject({ code: 16, details: 'Unauthorized' });
      expect(handledFor(note)).toHaveLength(0);
      const logged = logs.lines
        .slice(before)
        .filter((l) => l.includes('Refused service token'));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain(
        `rpc GrpcReceiverController.whoami: ERR_JWT_ISSUER_${code}`,
      );
    },
  );

  it('a valid token of an issuer the method does not allow fails with PERMISSION_DENIED', async () => {
    const note = `grpc-${++nextId}`;
    await expect(
      firstValueFrom(
        billing.restricted(
          { note },
          await withServiceToken(m1.service, new Metadata()),
        ),
      ),
    ).rejects.toMatchObject({ code: 7, details: 'Forbidden' });
    expect(handledFor(note)).toHaveLength(0);
  });

  it('@RequireScopes: a token without the scope fails with PERMISSION_DENIED, one with it is handled', async () => {
    const note = `grpc-${++nextId}`;
    await expect(
      firstValueFrom(
        billing.scoped(
          { note },
          await withServiceToken(m1.service, new Metadata()),
        ),
      ),
    ).rejects.toMatchObject({ code: 7, details: 'Forbidden' });
    expect(handledFor(note)).toHaveLength(0);

    const granted = `grpc-${++nextId}`;
    const token = await m1.service.createJwt({
      source: 'microservice',
      sub: 'm1',
      scope: 'invoices:write',
    });
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    await expect(
      firstValueFrom(billing.scoped({ note: granted }, metadata)),
    ).resolves.toMatchObject({ note: granted });
    expect(handledFor(granted)).toHaveLength(1);
  });
});
