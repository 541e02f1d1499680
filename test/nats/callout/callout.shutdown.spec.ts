import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsAuthDecision, NatsAuthorizer } from '../../../lib/index.js';
import {
  configModeSetup,
  rawConnectWith,
  servicePrivateKeyPem,
} from '../../support/nats-callout.js';
import {
  findNatsServer210,
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import { serviceSection, startCalloutApp } from './callout-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let started: () => void = () => undefined;

/** A slow authorizer (named in the options as a class): 400 ms per decision. */
class SlowAuthorizer implements NatsAuthorizer {
  async authorize(): Promise<NatsAuthDecision> {
    started();
    await sleep(400);
    return { allow: true, name: 'slow' };
  }
}

describe('auth callout: graceful shutdown', () => {
  const setup = configModeSetup();
  let server: RunningNatsServer;

  beforeAll(async () => {
    server = await startNatsServer(setup.config, [], findNatsServer210());
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('app.close() during a decision: the decision in flight is still answered, then the responder drains away', async () => {
    const callout = await startCalloutApp({
      nats: {
        callout: {
          servers: [server.url],
          user: setup.calloutUser,
          pass: setup.calloutPass,
          issuerKey: setup.issuerSeed,
          account: 'APP',
          authorizer: SlowAuthorizer,
        },
      },
      service: serviceSection(servicePrivateKeyPem()),
    });
    const deciding = new Promise<void>((r) => (started = r));
    const outcome = rawConnectWith(server.port, { auth_token: 'anything' });
    await deciding;
    const closed = callout.close();
    expect(await outcome).toBe('ok');
    await closed;
    expect(callout.responder.stats()).toMatchObject({
      allowed: 1,
      inFlight: 0,
    });
    // Gone: the next client is not answered (the server times it out).
    expect(await rawConnectWith(server.port, { auth_token: 'x' })).toMatch(
      /Authorization Violation|timeout/i,
    );
  });
});
