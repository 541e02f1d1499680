import { type INestApplication, Module, type Type } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import {
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
} from '../../lib/index.js';
import { SampleExceptionFilter } from '../../sample/sample-exception.filter.js';
import { captureOutput } from './capture-output.js';

/**
 * Starts one capability of the sample over real HTTP on 127.0.0.1: its controller, and `JwtIssuerModule` fed by
 * its sample-options function (so environment variables and development defaults behave as in `npm start`), and the
 * sample's exception filter.
 * Everything logged while starting is captured, for tests that check no secret is printed.
 */
export async function startSampleSection(
  controller: Type,
  options: () => Promise<JwtIssuerModuleOptions>,
) {
  @Module({
    imports: [JwtIssuerModule.forRootAsync({ useFactory: options })],
    controllers: [controller],
    providers: [{ provide: APP_FILTER, useClass: SampleExceptionFilter }],
  })
  class SampleSectionModule {}

  return captureOutput(async (logger) => {
    const app = await NestFactory.create(SampleSectionModule, {
      logger,
      abortOnError: false,
    });
    await app.listen(0, '127.0.0.1');
    return app as INestApplication;
  });
}

/** POSTs a JSON body and returns the status and the raw response text. */
export async function postJson(
  app: INestApplication,
  path: string,
  body: unknown,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${await app.getUrl()}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}
