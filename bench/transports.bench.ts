import 'reflect-metadata';
import { headers } from '@nats-io/transport-node';
import {
  type CanActivate,
  Controller,
  Injectable,
  Module,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import {
  ClientProxyFactory,
  MessagePattern,
  type MicroserviceOptions,
  NatsContext,
  NatsRecordBuilder,
  Payload,
  Transport,
} from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import {
  JwtIssuerModule,
  ServiceTokenGuard,
  ServiceTokenService,
  ServiceTokenVerifier,
  withServiceToken,
} from '../lib/index.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { compare } from './harness.js';

/** Nest's own cost of running a guard at all (context, guard consumer), for comparison. */
@Injectable()
class AllowAllGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Controller()
class BenchController {
  @UseGuards(AllowAllGuard)
  @MessagePattern('bench.trivial')
  trivial(@Payload() data: { n: number }) {
    return { n: data.n + 1 };
  }

  @UseGuards(ServiceTokenGuard)
  @MessagePattern('bench.guarded')
  guarded(@Payload() data: { n: number }) {
    return { n: data.n + 1 };
  }

  @MessagePattern('bench.open')
  open(@Payload() data: { n: number }) {
    return { n: data.n + 1 };
  }
}

@Module({
  imports: [
    JwtIssuerModule.forRoot({
      ignoreEnvVars: true,
      service: {
        name: 'bench',
        issuer: 'http://bench.test',
        algorithm: 'RS256',
      },
    }),
  ],
  controllers: [BenchController],
})
class BenchModule {}

const IN_FLIGHT = 32;
// A round-trip's time on a 2-core machine running the client, the server and nats-server at once varies by ±20 %
// from one second to the next: many short paired rounds, ratios as medians (see compare).
const ROUND_TRIP_ROUNDS = Number(process.env.BENCH_TRANSPORT_ROUNDS ?? 40);
const ROUND_TRIP_SECONDS = Number(process.env.BENCH_TRANSPORT_SECONDS ?? 10);

/**
 * The NATS transport (Nest's ClientProxy and server, a real nats-server on 127.0.0.1): the same message handler
 * with and without ServiceTokenGuard. Both requests carry the same token header, so only the guard's work differs.
 * One request at a time (latency), and 32 in flight (throughput). Needs nats-server on PATH or in /usr/sbin.
 */
export default async function (): Promise<void> {
  const nats = await startNatsServer('host: 127.0.0.1\nport: -1\n');
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    BenchModule,
    {
      transport: Transport.NATS,
      options: { servers: [nats.url] },
      logger: false,
    },
  );
  await app.listen();
  const client = ClientProxyFactory.create({
    transport: Transport.NATS,
    options: { servers: [nats.url] },
  });
  await client.connect();
  try {
    const tokens = app.get(ServiceTokenService);
    const record = new NatsRecordBuilder({ n: 1 })
      .setHeaders(await withServiceToken(tokens, headers()))
      .build();
    const one = (pattern: string) => () =>
      firstValueFrom(client.send(pattern, record));
    const batch = (pattern: string) => () =>
      Promise.all(
        Array.from({ length: IN_FLIGHT }, () =>
          firstValueFrom(client.send(pattern, record)),
        ),
      );
    // A refused call would throw here rather than bench an error path.
    await one('bench.guarded')();
    await compare(
      'NATS transport, request/reply round-trip, one at a time (round-trips/s)',
      [
        {
          name: 'unguarded @MessagePattern handler (baseline)',
          fn: one('bench.open'),
        },
        {
          name: 'same handler with a guard returning true (Nest’s own guard cost)',
          fn: one('bench.trivial'),
        },
        {
          name: 'same handler with ServiceTokenGuard (RS256)',
          fn: one('bench.guarded'),
        },
      ],
      { rounds: ROUND_TRIP_ROUNDS, seconds: ROUND_TRIP_SECONDS },
    );
    await compare(
      `NATS transport, request/reply, ${IN_FLIGHT} in flight (batches of ${IN_FLIGHT}/s)`,
      [
        {
          name: 'unguarded @MessagePattern handler (baseline)',
          fn: batch('bench.open'),
        },
        {
          name: 'same handler with a guard returning true (Nest’s own guard cost)',
          fn: batch('bench.trivial'),
        },
        {
          name: 'same handler with ServiceTokenGuard (RS256)',
          fn: batch('bench.guarded'),
        },
      ],
      { rounds: ROUND_TRIP_ROUNDS, seconds: ROUND_TRIP_SECONDS },
    );
    // The guard alone, per message: a fresh NatsContext each time, as the server builds one per message.
    const guard = await app.resolve(ServiceTokenGuard);
    const verifier = app.get(ServiceTokenVerifier);
    const msgHeaders = await withServiceToken(tokens, headers());
    const handler = BenchController.prototype.guarded;
    await compare('ServiceTokenGuard per NATS message, in process (checks/s)', [
      {
        name: 'read the header + verifier.verifyFast (cache hit) (baseline)',
        fn: () => {
          const ctx = new NatsContext(['bench.guarded', msgHeaders]);
          const value = ctx.getHeaders()!.get('authorization');
          return verifier.verifyFast(value.slice(7));
        },
      },
      {
        name: 'ServiceTokenGuard.canActivate on the NATS context',
        fn: () => {
          const ctx = new NatsContext(['bench.guarded', msgHeaders]);
          const host = new ExecutionContextHost(
            [{ n: 1 }, ctx],
            BenchController,
            handler,
          );
          host.setType('rpc');
          return guard.canActivate(host);
        },
      },
    ]);
  } finally {
    await client.close();
    await app.close();
    await nats.stop();
  }
}
