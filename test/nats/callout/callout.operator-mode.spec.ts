import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { jwtAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NatsAuthCallout,
  type NatsAuthDecision,
  type NatsAuthRequest,
  ServiceTokenVerifier,
} from '../../../lib/index.js';
import {
  findNatsServer210,
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import {
  connectWatched,
  operatorModeSetup,
  type OperatorModeSetup,
  rawConnectWith,
  servicePrivateKeyPem,
} from '../../support/nats-callout.js';
import {
  type CalloutApp,
  serviceSection,
  startCalloutApp,
} from './callout-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seedBytes = (s: string) => new TextEncoder().encode(s);

let accounts: { app: string; other: string } = { app: '', other: '' };
const seen: NatsAuthRequest[] = [];

/** The application's own authorizer, found through discovery: the token's `account` claim picks APP or OTHER. */
@Injectable()
class OperatorAccess {
  constructor(private readonly verifier: ServiceTokenVerifier) {}

  @NatsAuthCallout()
  async decide(
    request: NatsAuthRequest,
    signal: AbortSignal,
  ): Promise<NatsAuthDecision> {
    seen.push(request);
    if (signal.aborted) return { allow: false, reason: 'aborted' };
    const token = request.connectOptions.authToken;
    if (!token) return { allow: false, reason: 'no token' };
    const claims = await this.verifier.verify(token);
    if (claims.sub === 'boom') throw new Error(`secret detail ${token}`);
    return {
      allow: true,
      name: claims.sub as string,
      tags: [`team:${String(claims.team)}`],
      account: claims.account === 'other' ? accounts.other : accounts.app,
      expiresIn: 300,
    };
  }
}

describe.each([
  { xkey: false, label: 'xkey off' },
  { xkey: true, label: 'xkey on' },
])(
  'auth callout, operator mode, $label, against a real nats-server 2.10',
  ({ xkey }) => {
    let setup: OperatorModeSetup;
    let server: RunningNatsServer;
    let callout: CalloutApp;
    const sentinel = () =>
      jwtAuthenticator(setup.sentinelJwt, seedBytes(setup.sentinelSeed));

    beforeAll(async () => {
      setup = await operatorModeSetup({ xkey });
      accounts = { app: setup.appId, other: setup.otherId };
      server = await startNatsServer(setup.config, [], findNatsServer210());
      callout = await startCalloutApp(
        {
          nats: {
            accountId: setup.appId,
            signingKey: setup.appScopedSeed,
            accountJwt: setup.appJwt,
            callout: {
              mode: 'operator',
              servers: [server.url],
              creds: setup.calloutCreds,
              calloutAccount: setup.authId,
              issuerKey: setup.authSeed,
              xkey: setup.xkey?.seed,
              accounts: [
                { accountId: setup.otherId, signingKey: setup.otherSeed },
              ],
            },
          },
          service: serviceSection(servicePrivateKeyPem()),
        },
        [OperatorAccess],
      );
    });
    afterAll(async () => {
      await callout?.close();
      await server?.stop();
    });
    afterAll(() => {
      // No secret in any line the responder app logged: tokens (also the raw token the server puts in
      // client_info.user), passwords, seeds.
      const all = callout.logged.join('\n');
      expect(all).toMatch(/denied/);
      for (const secret of [
        ...callout.issued,
        setup.authSeed,
        setup.appScopedSeed,
        setup.otherSeed,
        ...(setup.xkey ? [setup.xkey.seed] : []),
        setup.calloutCreds.split('\n')[1],
      ]) {
        expect(all).not.toContain(secret);
      }
      expect(all).not.toMatch(/eyJ[\w-]+\.eyJ/);
    });

    it("a user signed by APP's scoped key gets the scope's template ({{name()}}, {{tag(team)}}), nothing else", async () => {
      const token = await callout.serviceToken('orders', { team: 'blue' });
      const a = await connectWatched(server.url, {
        authenticator: sentinel(),
        token,
      });
      const b = await connectWatched(server.url, {
        authenticator: sentinel(),
        token,
      });
      try {
        const got: string[] = [];
        b.nc.subscribe('users.orders.>', {
          callback: (_e, m) => void got.push(m.subject),
        });
        b.nc.subscribe('teams.blue.>', {
          callback: (_e, m) => void got.push(m.subject),
        });
        await b.nc.flush();
        a.nc.publish('users.orders.1', 'x');
        a.nc.publish('teams.blue.1', 'x');
        a.nc.publish('users.billing.1', 'x');
        await a.nc.flush();
        await sleep(200);
        expect(got.toSorted()).toEqual(['teams.blue.1', 'users.orders.1']);
        expect(a.errors.join('\n')).toMatch(
          /Permissions Violation for Publish to "users\.billing\.1"/i,
        );
        // The request reached the application typed and camel-cased, with the sentinel's JWT and the token.
        const r = seen.at(-1)!;
        expect(r.userNkey).toMatch(/^U[A-Z2-7]{55}$/);
        expect(r.server.id).toMatch(/^N/);
        expect(r.connectOptions.authToken).toBe(token);
        expect(r.connectOptions.jwt).toBe(setup.sentinelJwt);
        expect(r.encrypted).toBe(xkey);
        expect(r.expiresAt).toBeGreaterThan(r.issuedAt);
      } finally {
        await a.nc.close();
        await b.nc.close();
      }
    });

    it('a user placed in an account that is not in allowed_accounts is refused', async () => {
      const token = await callout.serviceToken('orders', {
        team: 'blue',
        account: 'other',
      });
      const outcome = await rawConnectWith(
        server.port,
        { jwt: setup.sentinelJwt, auth_token: token },
        setup.sentinelSeed,
      );
      expect(outcome).toMatch(/Authorization Violation/i);
      await server.waitForLog(/not permitted as valid account option/i);
    });

    it('an authorizer that throws is a deny with a generic reason (the exception text is never logged or sent)', async () => {
      const token = await callout.serviceToken('boom', { team: 'blue' });
      const before = callout.responder.stats().denied;
      const outcome = await rawConnectWith(
        server.port,
        { jwt: setup.sentinelJwt, auth_token: token },
        setup.sentinelSeed,
      );
      expect(outcome).toMatch(/Authorization Violation/i);
      expect(callout.responder.stats().denied).toBe(before + 1);
      const log = await server.waitForLog(
        /auth callout service returned an error: not authorized/i,
      );
      expect(log).not.toContain('secret detail');
    });

    it('a bare token without the sentinel is refused by the server without asking the responder', async () => {
      const before = callout.responder.stats().received;
      const token = await callout.serviceToken('orders', { team: 'blue' });
      expect(await rawConnectWith(server.port, { auth_token: token })).toMatch(
        /Authorization Violation/i,
      );
      expect(callout.responder.stats().received).toBe(before);
    });
  },
);
