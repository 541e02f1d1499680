import { Logger, type OnModuleInit } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { ResolvedServiceTokenOptions } from '../interfaces/service-token-options.interface.js';
import type { ServiceTokenService } from './service-token.service.js';

/**
 * Serves the JWKS and the OpenID configuration on the configured paths. Routes are added straight to the HTTP
 * adapter (Express or Fastify) in `onModuleInit`: after the controllers' routes, before the 404 handler, outside
 * any global prefix and global guard, and with paths known only once options are resolved (`forRootAsync`).
 * Does nothing in an application without an HTTP adapter (e.g. a bare testing module).
 */
export class ServiceTokenJwksPublisher implements OnModuleInit {
  private readonly logger = new Logger('ServiceTokenJwks');

  constructor(
    private readonly options: ResolvedServiceTokenOptions,
    private readonly service: ServiceTokenService,
    private readonly adapterHost: HttpAdapterHost | undefined,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (!this.options.publishJwks || !adapter) return;
    const json = (res: unknown, body: unknown, cache: string) => {
      adapter.setHeader(res, 'Content-Type', 'application/json');
      adapter.setHeader(res, 'Cache-Control', cache);
      adapter.reply(res, body, 200);
    };
    adapter.get(this.options.jwksPath, (_req: unknown, res: unknown) => {
      json(
        res,
        this.service.getJwks(),
        `max-age=${this.service.jwksMaxAge()}, must-revalidate`,
      );
    });
    adapter.get(
      this.options.openidConfigurationPath,
      (_req: unknown, res: unknown) => {
        json(
          res,
          this.service.getOpenIdConfiguration(),
          'max-age=3600, must-revalidate',
        );
      },
    );
    this.logger.log(
      `Publishing the JWKS at ${this.options.jwksPath} and the OpenID configuration at ${this.options.openidConfigurationPath}`,
    );
  }
}
