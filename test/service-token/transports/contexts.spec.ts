import 'reflect-metadata';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import {
  KafkaContext,
  MqttContext,
  RedisContext,
  RmqContext,
  RpcException,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerModule,
  ServiceTokenGuard,
  ServiceTokenService,
} from '../../../lib/index.js';
import { LogCollector } from '../../support/service-token-apps.js';

class Handlers {
  handle(): void {}
}

@Module({
  imports: [
    JwtIssuerModule.forRoot({
      ignoreEnvVars: true,
      service: { name: 'ctx', issuer: 'http://ctx.test' },
    }),
  ],
  providers: [ServiceTokenGuard],
})
class ContextsModule {}

const context = (type: string, args: unknown[]) => {
  const host = new ExecutionContextHost(
    args,
    Handlers,
    Handlers.prototype.handle,
  );
  host.setType(type);
  return host;
};

const rmq = (headers: Record<string, unknown>) =>
  new RmqContext([{ properties: { headers } }, {}, 'pattern']);

const kafka = (headers: Record<string, unknown>) =>
  new KafkaContext([
    { headers },
    0,
    'topic',
    {},
    () => undefined,
    {},
  ] as unknown as ConstructorParameters<typeof KafkaContext>[0]);

const mqtt = (userProperties: Record<string, unknown>) =>
  new MqttContext(['topic', { properties: { userProperties } }]);

/**
 * Every transport context, Kafka's included (no Kafka broker is packaged in Debian; RabbitMQ and MQTT 5 also run over
 * real brokers in rmq.spec.ts and mqtt.spec.ts), and the contexts the guard does not read: the guard is called
 * directly with Nest's own context classes built as their servers build them.
 */
describe('ServiceTokenGuard on every kind of context', () => {
  let app: INestApplicationContext;
  let guard: ServiceTokenGuard;
  let bearer: string;
  const logs = new LogCollector();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ContextsModule],
    }).compile();
    app = await moduleRef.init();
    app.useLogger(logs);
    guard = app.get(ServiceTokenGuard);
    bearer = await app.get(ServiceTokenService).authorizationHeader();
  });
  afterAll(async () => {
    await app?.close();
  });

  const passes = async (type: string, args: unknown[]) =>
    (await guard.canActivate(context(type, args))) === true;

  it('RabbitMQ: properties.headers.authorization', async () => {
    expect(await passes('rpc', [{}, rmq({ authorization: bearer })])).toBe(
      true,
    );
    await expect(passes('rpc', [{}, rmq({})])).rejects.toBeInstanceOf(
      RpcException,
    );
  });

  it('Kafka: message.headers.authorization, as a Buffer or a string', async () => {
    expect(
      await passes('rpc', [{}, kafka({ authorization: Buffer.from(bearer) })]),
    ).toBe(true);
    expect(await passes('rpc', [{}, kafka({ authorization: bearer })])).toBe(
      true,
    );
    await expect(
      passes('rpc', [{}, kafka({ authorization: [bearer, bearer] })]),
    ).rejects.toBeInstanceOf(RpcException); // two values: ambiguous, refused
  });

  it('MQTT 5: packet.properties.userProperties.authorization', async () => {
    expect(await passes('rpc', [{}, mqtt({ authorization: bearer })])).toBe(
      true,
    );
    await expect(passes('rpc', [{}, mqtt({})])).rejects.toBeInstanceOf(
      RpcException,
    );
  });

  it('Redis has no headers: refused, with the reason logged', async () => {
    const before = logs.lines.length;
    await expect(
      passes('rpc', [{}, new RedisContext(['channel'])]),
    ).rejects.toMatchObject({
      error: { statusCode: 401, message: 'Unauthorized' },
    });
    expect(logs.lines.slice(before).join('\n')).toContain(
      'rpc Handlers.handle: ERR_JWT_ISSUER_TOKEN_MISSING',
    );
  });

  it('contexts it cannot read are refused: a WebSocket whose handshake was not verified, a GraphQL context without a request, no RPC context', async () => {
    const before = logs.lines.length;
    // A socket whose gateway did not call ServiceTokenHandshake.protect: the token is never read from a message.
    await expect(
      passes('ws', [{ headers: { authorization: bearer } }, {}, 'whoami']),
    ).rejects.toMatchObject({
      error: { status: 'error', statusCode: 401, message: 'Unauthorized' },
    });
    await expect(
      passes('graphql', [{}, {}, { connectionParams: {} }, {}]),
    ).rejects.toMatchObject({ status: 401 });
    await expect(passes('rpc', [{}, undefined])).rejects.toBeInstanceOf(
      RpcException,
    );
    const text = logs.lines.slice(before).join('\n');
    expect(text).toContain(
      "ws Handlers.handle: ERR_JWT_ISSUER_TOKEN_MISSING: the socket's handshake was not verified",
    );
    expect(text).toContain('the guard cannot read a graphql call');
  });

  it('a guard limited to some contexts lets the others through untouched', async () => {
    const Limited = ServiceTokenGuard.with({ contexts: ['rpc'] });
    @Module({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: { name: 'ctx', issuer: 'http://ctx.test' },
        }),
      ],
      providers: [Limited],
    })
    class LimitedModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [LimitedModule],
    }).compile();
    moduleRef.useLogger(false);
    const limited = moduleRef.get(Limited);
    expect(await limited.canActivate(context('ws', [{}, {}]))).toBe(true);
    expect(() =>
      limited.canActivate(context('rpc', [{}, new RedisContext(['c'])])),
    ).toThrow(RpcException);
    await moduleRef.close();
  });
});
