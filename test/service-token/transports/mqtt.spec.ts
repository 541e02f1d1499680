import {
  ClientProxyFactory,
  MqttRecordBuilder,
  Transport,
} from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { describeGuardOverBroker } from '../../support/broker-transport-suite.js';
import { findMosquitto, startMosquitto } from '../../support/mosquitto.js';

describeGuardOverBroker({
  name: 'the MQTT 5 transport (real mosquitto)',
  startBroker: () => startMosquitto(),
  server: (url) => ({
    transport: Transport.MQTT,
    options: { url, protocolVersion: 5 },
  }),
  client: (url) =>
    ClientProxyFactory.create({
      transport: Transport.MQTT,
      options: { url, protocolVersion: 5 },
    }),
  // The documented way: the token in the MQTT 5 user properties of the PUBLISH packet.
  record: (data, authorization) =>
    new MqttRecordBuilder(data)
      .setProperties(
        authorization === undefined
          ? {}
          : { userProperties: { authorization } },
      )
      .build(),
  // MQTT 3.1.1 (mqtt.js' default protocol) has no user properties: the token never reaches the server.
  headerlessClient: {
    name: 'an MQTT 3.1.1 client',
    create: (url) =>
      ClientProxyFactory.create({
        transport: Transport.MQTT,
        options: { url, protocolVersion: 4 },
      }),
  },
});

describe('the mosquitto test helper', () => {
  it('fails, never skips, when mosquitto is absent, saying how to install it', () => {
    expect(() => findMosquitto(['/nonexistent'])).toThrow(
      /apt-get install -y mosquitto/,
    );
  });
});
