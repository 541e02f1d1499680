import type { Server } from 'node:http';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  ServiceClaims,
  type ServiceTokenClaims,
  ServiceTokenGuard,
  ServiceTokenService,
} from '../../lib/index.js';

/**
 * Sample routes of the service-token capability: an internal route only services may call, and a route that calls
 * it over HTTP with this service's own token (as another microservice would).
 */
@Controller('service-token')
export class ServiceTokenController {
  constructor(
    private readonly tokens: ServiceTokenService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Internal route: 401 without a valid service token. */
  @UseGuards(ServiceTokenGuard)
  @Get('internal/report')
  report(
    @ServiceClaims('sub') caller: string,
    @ServiceClaims() claims: ServiceTokenClaims,
  ): { caller: string; issuer: string; expiresAt: string } {
    return {
      caller,
      issuer: claims.iss,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
    };
  }

  /** Calls the internal route over HTTP with this service's own token, and returns what it answered. */
  @Get('call-internal')
  async callInternal(): Promise<{ status: number; body: unknown }> {
    // The sample's own address, from its server (never from the request's Host header, which callers control).
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 3000;
    const res = await fetch(
      `http://127.0.0.1:${port}/service-token/internal/report`,
      {
        headers: { authorization: await this.tokens.authorizationHeader() },
        signal: AbortSignal.timeout(5000),
      },
    );
    return { status: res.status, body: (await res.json()) as unknown };
  }
}
