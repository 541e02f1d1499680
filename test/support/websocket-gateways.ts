import 'reflect-metadata';
import type { Server } from 'node:http';
import {
  type INestApplication,
  type LoggerService,
  Module,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { io, type Socket as IoClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import {
  AllowServices,
  RequireScopes,
  JwtIssuerModule,
  type ServiceCaller,
  ServiceClaims,
  type ServiceTokenClaims,
  ServiceTokenGuard,
  ServiceTokenHandshake,
  type ServiceTokenOptions,
} from '../../lib/index.js';
import { OTHER_ISSUER } from './service-token-transports.js';

export type WsAdapterKind = 'ws' | 'socket.io';

/** Every run of a gateway handler or of `handleConnection`, in order (tests look for their own `data.id`). */
export const gatewayRuns: {
  handler: string;
  caller?: ServiceCaller;
  claims?: ServiceTokenClaims;
  data?: unknown;
}[] = [];

/** The handler runs whose payload has this `id`. */
export const runsFor = (id: number) =>
  gatewayRuns.filter((r) => (r.data as { id?: unknown })?.id === id);

/** The gateway of the specs: guarded, its handshake verified in afterInit, on path /events of the app's HTTP server. */
@UseGuards(ServiceTokenGuard)
@WebSocketGateway({ path: '/events' })
export class EventsGateway implements OnGatewayInit, OnGatewayConnection {
  constructor(private readonly handshake: ServiceTokenHandshake) {}

  afterInit(server: unknown): void {
    this.handshake.protect(server);
  }

  handleConnection(client: object): void {
    gatewayRuns.push({
      handler: 'handleConnection',
      claims: this.handshake.claimsOf(client),
    });
  }

  @SubscribeMessage('whoami')
  whoami(
    @MessageBody() data: unknown,
    @ServiceClaims('caller') caller: ServiceCaller,
    @ServiceClaims('sub') sub: string,
  ) {
    gatewayRuns.push({ handler: 'whoami', caller, data });
    return { event: 'whoami', data: { caller, sub, data } };
  }

  @RequireScopes(['invoices:write'])
  @SubscribeMessage('scoped')
  scoped(@MessageBody() data: unknown) {
    gatewayRuns.push({ handler: 'scoped', data });
    return { event: 'scoped', data };
  }

  @AllowServices(OTHER_ISSUER)
  @SubscribeMessage('restricted')
  restricted(@MessageBody() data: unknown, @ConnectedSocket() _s: unknown) {
    gatewayRuns.push({ handler: 'restricted', data });
    return { event: 'restricted', data };
  }
}

/** A gateway whose afterInit does not protect the server: the guard must refuse its messages. */
@UseGuards(ServiceTokenGuard)
@WebSocketGateway({ path: '/unprotected' })
export class UnprotectedGateway {
  @SubscribeMessage('whoami')
  whoami(@MessageBody() data: unknown) {
    gatewayRuns.push({ handler: 'unprotected.whoami', data });
    return { event: 'whoami', data };
  }
}

/** A gateway without @UseGuards, for an app whose ServiceTokenGuard is global (APP_GUARD). */
@WebSocketGateway({ path: '/global' })
export class GloballyGuardedGateway implements OnGatewayInit {
  constructor(private readonly handshake: ServiceTokenHandshake) {}

  afterInit(server: unknown): void {
    this.handshake.protect(server);
  }

  @SubscribeMessage('whoami')
  whoami(
    @MessageBody() data: unknown,
    @ServiceClaims('caller') caller: ServiceCaller,
  ) {
    gatewayRuns.push({ handler: 'global.whoami', caller, data });
    return { event: 'whoami', data: { caller, data } };
  }
}

export interface RunningGatewayApp {
  app: INestApplication;
  /** `http://127.0.0.1:PORT` */
  url: string;
  adapter: WsAdapterKind;
}

/** A real Nest app on 127.0.0.1 (Express) with the gateways on its HTTP server, on the `ws` or socket.io adapter. */
export async function startGatewayApp(
  service: ServiceTokenOptions,
  adapter: WsAdapterKind,
  options: {
    logger?: LoggerService;
    /** The gateway: EventsGateway by default. */
    gateway?: 'unprotected' | 'global';
  } = {},
): Promise<RunningGatewayApp> {
  @Module({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, service })],
    providers:
      options.gateway === 'unprotected'
        ? [UnprotectedGateway]
        : options.gateway === 'global'
          ? [
              GloballyGuardedGateway,
              { provide: APP_GUARD, useClass: ServiceTokenGuard },
            ]
          : [EventsGateway],
  })
  class GatewayModule {}
  const moduleRef = await Test.createTestingModule({
    imports: [GatewayModule],
  }).compile();
  const app = moduleRef.createNestApplication();
  if (options.logger) app.useLogger(options.logger);
  app.useWebSocketAdapter(
    adapter === 'ws' ? new WsAdapter(app) : new IoAdapter(app),
  );
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, url: `http://127.0.0.1:${port}`, adapter };
}

/** What a client saw: the events it received, and how it ended. */
export interface GatewayClient {
  /** Resolves when connected; rejects with the refusal (socket.io `connect_error`; `ws`: never, it opens). */
  readonly connected: Promise<void>;
  /** Resolves when the connection ends: the `ws` close code and reason, or socket.io's disconnect reason. */
  readonly ended: Promise<{ code?: number; reason: string }>;
  send(event: string, data: unknown): void;
  /** The next `event` received (or an `exception`), within `timeoutMs`. */
  next(event: string, timeoutMs?: number): Promise<unknown>;
  /** Every event received so far: [event, data]. */
  readonly received: [string, unknown][];
  close(): void;
}

/**
 * Connects a real client: `ws` (`authorization` as the upgrade's header) or socket.io-client (`token` as
 * `auth.token`, `authorization` as a header), over the WebSocket transport only.
 */
export function connectClient(
  target: RunningGatewayApp,
  credentials: { authorization?: string; token?: unknown; path?: string },
  onOpen?: (client: GatewayClient) => void,
): GatewayClient {
  const received: [string, unknown][] = [];
  const waiters: { event: string; resolve: (d: unknown) => void }[] = [];
  const deliver = (event: string, data: unknown) => {
    received.push([event, data]);
    for (const w of waiters.splice(0)) {
      if (w.event === event || event === 'exception') w.resolve([event, data]);
      else waiters.push(w);
    }
  };
  const next = (event: string, timeoutMs = 5000) =>
    new Promise<unknown>((resolve, reject) => {
      const seen = received.find(([e]) => e === event || e === 'exception');
      if (seen) {
        received.splice(received.indexOf(seen), 1);
        return resolve(seen);
      }
      const timer = setTimeout(
        () => reject(new Error(`no ${event} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.push({
        event,
        resolve: (d) => {
          clearTimeout(timer);
          received.splice(received.indexOf(d as [string, unknown]), 1);
          resolve(d);
        },
      });
    });
  const headers =
    credentials.authorization === undefined
      ? undefined
      : { authorization: credentials.authorization };

  if (target.adapter === 'ws') {
    const socket = new WebSocket(
      `${target.url.replace('http', 'ws')}${credentials.path ?? '/events'}`,
      { headers },
    );
    let client: GatewayClient;
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('open', () => {
        onOpen?.(client);
        resolve();
      });
      socket.once('error', reject);
    });
    connected.catch(() => undefined); // a test that expects the refusal awaits it
    const ended = new Promise<{ code?: number; reason: string }>((resolve) => {
      socket.once('close', (code, reason) =>
        resolve({ code, reason: reason.toString() }),
      );
      socket.once('unexpected-response', (_req, res) => {
        resolve({ code: res.statusCode, reason: 'http' });
        socket.terminate();
      });
    });
    socket.on('message', (raw) => {
      const m = JSON.parse(raw.toString()) as { event: string; data: unknown };
      deliver(m.event, m.data);
    });
    client = {
      connected,
      ended,
      received,
      next,
      send: (event, data) => socket.send(JSON.stringify({ event, data })),
      close: () => socket.close(),
    };
    return client;
  }

  const socket: IoClientSocket = io(target.url, {
    path: credentials.path ?? '/events',
    transports: ['websocket'],
    reconnection: false,
    auth:
      credentials.token === undefined
        ? undefined
        : { token: credentials.token },
    extraHeaders: headers,
    forceNew: true,
  });
  let client: GatewayClient;
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      onOpen?.(client);
      resolve();
    });
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  connected.catch(() => undefined); // a test that expects the refusal awaits it
  const ended = new Promise<{ code?: number; reason: string }>((resolve) => {
    socket.once('disconnect', (reason) => resolve({ reason }));
    socket.once('connect_error', (err) => resolve({ reason: err.message }));
  });
  socket.onAny((event: string, data: unknown) => deliver(event, data));
  client = {
    connected,
    ended,
    received,
    next,
    send: (event, data) => socket.emit(event, data),
    close: () => socket.close(),
  };
  return client;
}
