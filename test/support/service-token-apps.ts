import 'reflect-metadata';
import type { Server } from 'node:http';
import {
  Controller,
  Get,
  Inject,
  type INestApplication,
  type LoggerService,
  Module,
  type Provider,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  JwtIssuerModule,
  ServiceClaims,
  type ServiceTokenClaims,
  ServiceTokenGuard,
  type ServiceTokenOptions,
  ServiceTokenService,
  SkipServiceAuth,
} from '../../lib/index.js';

/** Collects every log line of the apps (to check reasons are logged and tokens never are). */
export class LogCollector implements LoggerService {
  readonly lines: string[] = [];
  log(m: unknown, ...rest: unknown[]) {
    this.lines.push([m, ...rest].map(String).join(' '));
  }
  error(m: unknown, ...rest: unknown[]) {
    this.log(m, ...rest);
  }
  warn(m: unknown, ...rest: unknown[]) {
    this.log(m, ...rest);
  }
  debug() {}
  verbose() {}
}

export type Platform = 'express' | 'fastify';

export interface RunningApp {
  app: INestApplication;
  url: string;
  port: number;
  service: ServiceTokenService;
}

/** Where M1's caller route sends its calls. */
export const PEER = 'PEER';

@Controller()
class CallerController {
  constructor(
    private readonly tokens: ServiceTokenService,
    @Inject(PEER) private readonly peer: { url: string },
  ) {}

  /** M1 → M2 over HTTP with M1's own token. */
  @Get('call-m2')
  async call(): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.peer.url}/internal/whoami`, {
      headers: { authorization: await this.tokens.authorizationHeader() },
    });
    return { status: res.status, body: await res.json() };
  }
}

@Controller('internal')
class GuardedController {
  @UseGuards(ServiceTokenGuard)
  @Get('whoami')
  whoami(
    @ServiceClaims() claims: ServiceTokenClaims,
    @ServiceClaims('sub') sub: string,
  ): { sub: string; claims: ServiceTokenClaims } {
    return { sub, claims };
  }

  @Get('open')
  open(): string {
    return 'open';
  }
}

@Controller('global')
class GlobalGuardController {
  @Get('protected')
  protected(@ServiceClaims('sub') sub: string): { sub: string } {
    return { sub };
  }

  @SkipServiceAuth()
  @Get('health')
  health(): { ok: true } {
    return { ok: true };
  }
}

@SkipServiceAuth()
@Controller('public')
class PublicController {
  @Get('ping')
  ping(): { pong: true } {
    return { pong: true };
  }
}

/** Starts a real Nest app on 127.0.0.1 with the `service` section given, on Express or Fastify. */
export async function startServiceApp(
  service: ServiceTokenOptions,
  options: {
    platform?: Platform;
    peer?: { url: string };
    globalGuard?: boolean;
    logger?: LoggerService;
    /** Replaces the app's controllers. */
    controllers?: Type[];
    /** More providers of the app's module (e.g. its own ServiceTokenLocator). */
    providers?: Provider[];
  } = {},
): Promise<RunningApp> {
  @Module({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, service })],
    controllers:
      options.controllers ??
      (options.globalGuard
        ? [GlobalGuardController, PublicController]
        : [CallerController, GuardedController]),
    providers: [
      { provide: PEER, useValue: options.peer ?? { url: '' } },
      ...(options.globalGuard
        ? [{ provide: APP_GUARD, useClass: ServiceTokenGuard }]
        : []),
      ...(options.providers ?? []),
    ],
  })
  class AppModule {}

  const moduleRef = await Test.createTestingModule({
    imports: [AppModule],
  }).compile();
  const app =
    options.platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter())
      : moduleRef.createNestApplication();
  if (options.logger) app.useLogger(options.logger);
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    port,
    url: `http://127.0.0.1:${port}`,
    service: app.get(ServiceTokenService),
  };
}
