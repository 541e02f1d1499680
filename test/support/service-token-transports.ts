import 'reflect-metadata';
import { headers } from '@nats-io/transport-node';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import {
  Controller,
  Get,
  type INestApplication,
  type INestMicroservice,
  type LoggerService,
  Module,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  type ClientProxy,
  ClientProxyFactory,
  EventPattern,
  GrpcMethod,
  MessagePattern,
  type MicroserviceOptions,
  NatsRecordBuilder,
  Payload,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import {
  AllowServices,
  JwtIssuerModule,
  RequireScopes,
  type ServiceCaller,
  ServiceClaims,
  type ServiceTokenClaims,
  ServiceTokenGuard,
  type ServiceTokenOptions,
  type ServiceTokenService,
  SkipServiceAuth,
} from '../../lib/index.js';
import { forge } from './forge.js';
import { type RunningApp, startServiceApp } from './service-token-apps.js';

/** What the receiving handlers saw: one entry per handler run. */
export interface HandledCall {
  handler: string;
  caller: ServiceCaller | undefined;
  data: unknown;
}

/** Every handler run of the receiving apps, in order (tests look for their own `data.id`). */
export const handled: HandledCall[] = [];

/** The handler runs whose payload has this `id` (NATS, TCP) or `note` (gRPC). */
export function handledFor(key: number | string): HandledCall[] {
  return handled.filter((h) => {
    const d = h.data as { id?: unknown; note?: unknown } | undefined;
    return d?.id === key || d?.note === key;
  });
}

const now = (): number => Math.floor(Date.now() / 1000);

export const OTHER_ISSUER = 'http://other.test';

/** NATS handlers, guarded per handler. */
@UseGuards(ServiceTokenGuard)
@Controller()
export class NatsReceiverController {
  @MessagePattern('billing.whoami')
  whoami(
    @Payload() data: unknown,
    @ServiceClaims('caller') caller: ServiceCaller,
    @ServiceClaims() claims: ServiceTokenClaims,
  ) {
    handled.push({ handler: 'whoami', caller, data });
    return { caller, data, sub: claims.sub };
  }

  @AllowServices(OTHER_ISSUER)
  @MessagePattern('billing.restricted')
  restricted(@Payload() data: unknown) {
    handled.push({ handler: 'restricted', caller: undefined, data });
    return 'restricted';
  }

  @RequireScopes(['invoices:write'])
  @MessagePattern('billing.scoped')
  scoped(@Payload() data: unknown) {
    handled.push({ handler: 'scoped', caller: undefined, data });
    return 'scoped';
  }

  @EventPattern('billing.audit')
  audit(@Payload() data: unknown, @ServiceClaims('caller') caller: unknown) {
    // Nest 12 types an event handler's arguments after the first as unknown.
    handled.push({ handler: 'audit', caller: caller as ServiceCaller, data });
  }
}

/** Handlers for a global guard (hybrid app): one guarded, one opted out. */
@Controller('hybrid')
export class HybridController {
  @Get('whoami')
  httpWhoami(@ServiceClaims('caller') caller: ServiceCaller) {
    handled.push({ handler: 'http', caller, data: undefined });
    return caller;
  }

  @MessagePattern('hybrid.whoami')
  natsWhoami(
    @Payload() data: unknown,
    @ServiceClaims('caller') caller: ServiceCaller,
  ) {
    handled.push({ handler: 'hybrid.whoami', caller, data });
    return { caller, data };
  }

  @EventPattern('hybrid.audit')
  natsAudit(
    @Payload() data: unknown,
    @ServiceClaims('caller') caller: unknown,
  ) {
    handled.push({
      handler: 'hybrid.audit',
      caller: caller as ServiceCaller,
      data,
    });
  }

  @SkipServiceAuth()
  @MessagePattern('hybrid.public')
  natsPublic(@Payload() data: unknown) {
    return { public: true, data };
  }
}

/** gRPC handlers (service billing.Billing of billing.proto). */
@UseGuards(ServiceTokenGuard)
@Controller()
export class GrpcReceiverController {
  @GrpcMethod('Billing', 'WhoAmI')
  whoami(
    @Payload() data: { note: string },
    @ServiceClaims('caller') caller: ServiceCaller,
  ) {
    handled.push({ handler: 'grpc.whoami', caller, data });
    return { issuer: caller.issuer, subject: caller.subject, note: data.note };
  }

  @AllowServices(OTHER_ISSUER)
  @GrpcMethod('Billing', 'Restricted')
  restricted(@Payload() data: { note: string }) {
    handled.push({ handler: 'grpc.restricted', caller: undefined, data });
    return { issuer: '', subject: '', note: data.note };
  }

  @RequireScopes(['invoices:write'])
  @GrpcMethod('Billing', 'Scoped')
  scoped(@Payload() data: { note: string }) {
    handled.push({ handler: 'grpc.scoped', caller: undefined, data });
    return { issuer: '', subject: '', note: data.note };
  }
}

export const BILLING_PROTO = join(
  import.meta.dirname,
  '..',
  'service-token',
  'transports',
  'billing.proto',
);

/** The issuer of M1, the calling service of the transport specs. */
export const M1_ISSUER = 'http://m1.test';

/** Starts M1: an HTTP app that signs the tokens and publishes its JWKS. */
export function startM1(privateKey: string): Promise<RunningApp> {
  return startServiceApp({ name: 'm1', issuer: M1_ISSUER, privateKey });
}

/** The `service` section of M2, the receiving microservice: it trusts M1's tokens, its keys fetched from M1's JWKS. */
export function m2Service(
  m1: RunningApp,
  extra: Partial<ServiceTokenOptions> = {},
): ServiceTokenOptions {
  return {
    name: 'm2',
    issuer: 'http://m2.test',
    trustedIssuers: [
      { issuer: M1_ISSUER, jwksUri: `${m1.url}/.well-known/jwks.json` },
    ],
    ...extra,
  };
}

/** Starts a Nest microservice (no HTTP) with the `service` section and the controllers given. */
export async function startMicroservice(
  service: ServiceTokenOptions,
  transport: MicroserviceOptions,
  controllers: Type[],
  logger?: LoggerService,
): Promise<INestMicroservice> {
  @Module({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, service })],
    controllers,
  })
  class ReceiverModule {}
  const moduleRef = await Test.createTestingModule({
    imports: [ReceiverModule],
  }).compile();
  const app = moduleRef.createNestMicroservice<MicroserviceOptions>(transport);
  if (logger) app.useLogger(logger);
  await app.listen();
  return app;
}

/**
 * A hybrid app: HTTP on 127.0.0.1 plus the NATS transport, with `guard` as the global guard (`APP_GUARD`), the
 * microservice connected with or without `inheritAppConfig`.
 */
export async function startHybridApp(
  service: ServiceTokenOptions,
  natsUrl: string,
  options: { guard: Type; inheritAppConfig: boolean; logger?: LoggerService },
): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, service })],
    controllers: [HybridController],
    providers: [{ provide: APP_GUARD, useClass: options.guard }],
  })
  class HybridModule {}
  const moduleRef = await Test.createTestingModule({
    imports: [HybridModule],
  }).compile();
  const app = moduleRef.createNestApplication();
  if (options.logger) app.useLogger(options.logger);
  app.connectMicroservice<MicroserviceOptions>(
    { transport: Transport.NATS, options: { servers: [natsUrl] } },
    { inheritAppConfig: options.inheritAppConfig },
  );
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as { address(): unknown }).address();
  const port =
    typeof address === 'object' && address
      ? (address as { port: number }).port
      : 0;
  return { app, url: `http://127.0.0.1:${port}` };
}

/** A NATS record whose headers carry `authorization` (none when undefined). */
export function natsRecord(data: unknown, authorization?: string) {
  const h = headers();
  if (authorization !== undefined) h.set('authorization', authorization);
  return new NatsRecordBuilder(data).setHeaders(h).build();
}

/** A connected Nest `ClientProxy` on the NATS transport. */
export async function connectNatsClient(url: string): Promise<ClientProxy> {
  const client = ClientProxyFactory.create({
    transport: Transport.NATS,
    options: { servers: [url] },
  });
  await client.connect();
  return client;
}

/** Polls `check` until it is true or the deadline passes (for events, which have no reply). */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The tokens every transport must refuse, as `authorization` values (undefined: no header), with the code logged.
 * `caller()` is the service signing as `issuer` with the RSA key `privateKey` whose kid is `kid`.
 */
export function refusalCases(
  caller: () => ServiceTokenService,
  issuer: string,
  privateKey: KeyObject,
  kid: () => string,
): [string, string, () => Promise<string | undefined>][] {
  return [
    ['no token', 'TOKEN_MISSING', async () => undefined],
    [
      'a tampered token',
      'TOKEN_SIGNATURE_INVALID',
      async () => {
        const token = await caller().getToken();
        const [h, p, s] = token.split('.');
        const claims = JSON.parse(
          Buffer.from(p, 'base64url').toString(),
        ) as Record<string, unknown>;
        const forged = Buffer.from(
          JSON.stringify({ ...claims, sub: 'admin' }),
        ).toString('base64url');
        return `Bearer ${h}.${forged}.${s}`;
      },
    ],
    [
      'an end-user token (no source)',
      'TOKEN_CLAIM_INVALID',
      async () => `Bearer ${await caller().createJwt({ sub: 'alice' })}`,
    ],
    [
      'an expired token',
      'TOKEN_EXPIRED',
      async () =>
        `Bearer ${forge(
          { alg: 'RS256', kid: kid() },
          {
            source: 'microservice',
            iss: issuer,
            sub: 'm1',
            iat: now() - 120,
            exp: now() - 60,
          },
          privateKey,
        )}`,
    ],
  ];
}
