import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { JwtIssuerModule } from '../lib/index.js';
import { NatsController } from './nats/nats.controller.js';
import { SampleExceptionFilter } from './sample-exception.filter.js';
import { SealdController } from './seald/seald.controller.js';
import { sampleJwtIssuerOptions } from './sample-options.js';
import { ServiceTokenController } from './service-token/service-token.controller.js';
import { VonageController } from './vonage/vonage.controller.js';

/**
 * The sample application: every capability of nest-jwt-issuer, configured from `JWT_ISSUER_*` environment
 * variables, with development defaults when they are absent (never in production). Library errors that escape a
 * route become 400/401/503 through the library's exception filter (see {@link SampleExceptionFilter}).
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    JwtIssuerModule.forRootAsync({
      useFactory: sampleJwtIssuerOptions,
      isGlobal: true,
      // The sample serves every capability: a start without one of them fails, listing what to set.
      require: ['nats', 'service', 'seald', 'vonage'],
    }),
  ],
  controllers: [
    NatsController,
    ServiceTokenController,
    SealdController,
    VonageController,
  ],
  providers: [{ provide: APP_FILTER, useClass: SampleExceptionFilter }],
})
export class AppModule {}
