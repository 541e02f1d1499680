import {
  ClientProxyFactory,
  MqttRecordBuilder,
  Transport,
} from '@nestjs/microservices';
import { describeGuardOverBroker } from '../../support/broker-transport-suite.js';
import { startMosquitto } from '../../support/mosquitto.js';

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
});
