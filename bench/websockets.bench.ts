import 'reflect-metadata';
import type { Server } from 'node:http';
import {
  type CanActivate,
  Injectable,
  Module,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { WsAdapter } from '@nestjs/platform-ws';
import {
  MessageBody,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import WebSocket, { type WebSocketServer as WsServer } from 'ws';
import {
  JwtIssuerModule,
  ServiceTokenGuard,
  ServiceTokenHandshake,
  ServiceTokenService,
  ServiceTokenVerifier,
} from '../lib/index.js';
import { compare } from './harness.js';

/** Nest's own cost of running a guard at all, for comparison. */
@Injectable()
class AllowAllGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@WebSocketGateway({ path: '/bench' })
class BenchGateway implements OnGatewayInit {
  @WebSocketServer() server!: WsServer;
  constructor(private readonly handshake: ServiceTokenHandshake) {}

  afterInit(server: unknown): void {
    this.handshake.protect(server);
  }

  @SubscribeMessage('open')
  open(@MessageBody() n: number) {
    return { event: 'r', data: n };
  }

  @UseGuards(AllowAllGuard)
  @SubscribeMessage('trivial')
  trivial(@MessageBody() n: number) {
    return { event: 'r', data: n };
  }

  @UseGuards(ServiceTokenGuard)
  @SubscribeMessage('guarded')
  guarded(@MessageBody() n: number) {
    return { event: 'r', data: n };
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
  providers: [BenchGateway],
})
class BenchModule {}

const ROUND_TRIP_ROUNDS = Number(process.env.BENCH_TRANSPORT_ROUNDS ?? 20);
const ROUND_TRIP_SECONDS = Number(process.env.BENCH_TRANSPORT_SECONDS ?? 6);

/**
 * A `ws` gateway (Nest's WsAdapter on the app's HTTP server, a real `ws` client on 127.0.0.1): the same handler
 * unguarded, with a guard returning true, and with ServiceTokenGuard, one message at a time on a socket whose token
 * was verified at its handshake. Then the guard alone per message, in process, against what verifying the token
 * again on every message would cost (the verifier's cache hit).
 */
export default async function (): Promise<void> {
  const app = await NestFactory.create(BenchModule, { logger: false });
  app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const token = await app.get(ServiceTokenService).getToken();
  const socket = new WebSocket(`ws://127.0.0.1:${port}/bench`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let pending: ((v: unknown) => void) | undefined;
  socket.on('message', () => pending?.(undefined));
  const one = (event: string) => () =>
    new Promise((resolve) => {
      pending = resolve;
      socket.send(JSON.stringify({ event, data: 1 }));
    });
  try {
    await one('guarded')(); // a refusal would hang here rather than bench an error path
    await compare(
      '`ws` gateway, message/reply round-trip, one at a time (round-trips/s)',
      [
        {
          name: 'unguarded @SubscribeMessage handler (baseline)',
          fn: one('open'),
        },
        {
          name: 'same handler with a guard returning true (Nest’s own guard cost)',
          fn: one('trivial'),
        },
        {
          name: 'same handler with ServiceTokenGuard (token verified at the handshake)',
          fn: one('guarded'),
        },
      ],
      { rounds: ROUND_TRIP_ROUNDS, seconds: ROUND_TRIP_SECONDS },
    );
    const guard = await app.resolve(ServiceTokenGuard);
    const verifier = app.get(ServiceTokenVerifier);
    const serverSocket = [...app.get(BenchGateway).server.clients][0];
    const handler = BenchGateway.prototype.guarded;
    verifier.verifyFast(token); // second sight: from now on a cache hit
    await compare(
      'ServiceTokenGuard per gateway message, in process (checks/s)',
      [
        {
          name: 'verifier.verifyFast (cache hit): verifying again per message (baseline)',
          fn: () => verifier.verifyFast(token),
        },
        {
          name: 'ServiceTokenGuard.canActivate on a `ws` message (claims bound at the handshake)',
          fn: () => {
            const host = new ExecutionContextHost(
              [serverSocket, 1, 'guarded'],
              BenchGateway,
              handler,
            );
            host.setType('ws');
            return guard.canActivate(host);
          },
        },
      ],
    );
  } finally {
    socket.close();
    await app.close();
  }
}
