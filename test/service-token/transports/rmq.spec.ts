import {
  ClientProxyFactory,
  RmqRecordBuilder,
  Transport,
} from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { describeGuardOverBroker } from '../../support/broker-transport-suite.js';
import {
  findRabbitMqServer,
  startRabbitMq,
} from '../../support/rabbitmq-server.js';

const QUEUE = 'billing';

describeGuardOverBroker({
  name: 'the RabbitMQ transport (real rabbitmq-server)',
  startBroker: () => startRabbitMq(),
  server: (url) => ({
    transport: Transport.RMQ,
    options: { urls: [url], queue: QUEUE, queueOptions: { durable: false } },
  }),
  client: (url) =>
    ClientProxyFactory.create({
      transport: Transport.RMQ,
      options: { urls: [url], queue: QUEUE, queueOptions: { durable: false } },
    }),
  // The documented way: the token in the AMQP message's headers (`properties.headers`).
  record: (data, authorization) =>
    new RmqRecordBuilder(data)
      .setOptions(
        authorization === undefined ? {} : { headers: { authorization } },
      )
      .build(),
});

describe('the rabbitmq-server test helper', () => {
  it('fails, never skips, when rabbitmq-server is absent, saying how to install it', () => {
    expect(() => findRabbitMqServer(['/nonexistent'])).toThrow(
      /apt-get install -y rabbitmq-server/,
    );
  });
});
