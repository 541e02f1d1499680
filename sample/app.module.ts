import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { JwtIssuerModule } from '../lib/index.js';
import { NatsController } from './nats/nats.controller.js';
import { SealdController } from './seald/seald.controller.js';
import { sampleJwtIssuerOptions } from './sample-options.js';
import { ServiceTokenController } from './service-token/service-token.controller.js';
import { VonageController } from './vonage/vonage.controller.js';

/**
 * The sample application: every capability of nest-jwt-issuer, configured from `JWT_ISSUER_*` environment
 * variables, with development defaults when they are absent (never in production).
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    JwtIssuerModule.forRootAsync({
      useFactory: sampleJwtIssuerOptions,
      isGlobal: true,
    }),
  ],
  controllers: [
    NatsController,
    ServiceTokenController,
    SealdController,
    VonageController,
  ],
})
export class AppModule {}
