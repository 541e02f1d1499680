import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findNatsServer210,
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import {
  configModeSetup,
  connectWatched,
  rawConnectWith,
  servicePrivateKeyPem,
} from '../../support/nats-callout.js';
import {
  type CalloutApp,
  NATS_AUDIENCE,
  PERMISSIONS,
  serviceSection,
  startCalloutApp,
} from './callout-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  { xkey: false, label: 'xkey off' },
  { xkey: true, label: 'xkey on' },
])(
  'auth callout, config mode, $label, against a real nats-server 2.10',
  ({ xkey }) => {
    const setup = configModeSetup({ xkey });
    let server: RunningNatsServer;
    let callout: CalloutApp;

    beforeAll(async () => {
      server = await startNatsServer(setup.config, [], findNatsServer210());
      callout = await startCalloutApp({
        nats: {
          callout: {
            servers: [server.url],
            user: setup.calloutUser,
            pass: setup.calloutPass,
            issuerKey: setup.issuerSeed,
            xkey: setup.xkey?.seed,
            account: 'APP',
            authorizer: 'service-token',
            audience: NATS_AUDIENCE,
            tagClaims: ['team'],
            permissions: PERMISSIONS,
            maxExpiresIn: 600,
          },
        },
        service: serviceSection(servicePrivateKeyPem()),
      });
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
        setup.calloutPass,
        setup.issuerSeed,
        ...(setup.xkey ? [setup.xkey.seed] : []),
      ]) {
        expect(all).not.toContain(secret);
      }
      expect(all).not.toMatch(/eyJ[\w-]+\.eyJ/);
    });

    it('a service token connects with exactly the decided permissions: own and team subjects delivered, others violations', async () => {
      const token = await callout.serviceToken('orders', { team: 'blue' });
      const a = await connectWatched(server.url, { token });
      const b = await connectWatched(server.url, { token });
      try {
        const got: string[] = [];
        const sub = b.nc.subscribe('users.orders.>', {
          callback: (_e, m) => void got.push(m.subject),
        });
        const team = b.nc.subscribe('teams.blue.>', {
          callback: (_e, m) => void got.push(m.subject),
        });
        await b.nc.flush();
        a.nc.publish('users.orders.created', 'x');
        a.nc.publish('teams.blue.news', 'x');
        a.nc.publish('users.billing.created', 'x');
        a.nc.publish('teams.red.news', 'x');
        await a.nc.flush();
        await sleep(200);
        expect(got.toSorted()).toEqual([
          'teams.blue.news',
          'users.orders.created',
        ]);
        expect(a.errors.join('\n')).toMatch(
          /Permissions Violation for Publish to "users\.billing\.created"/i,
        );
        expect(a.errors.join('\n')).toMatch(
          /Permissions Violation for Publish to "teams\.red\.news"/i,
        );
        b.nc.subscribe('users.billing.>');
        await b.nc.flush().catch(() => undefined);
        await sleep(100);
        expect(b.errors.join('\n')).toMatch(
          /Permissions Violation for Subscription to "users\.billing\.>"/i,
        );
        void sub;
        void team;
        // The user is placed in APP (aud), named after the token's sub.
        const log = await server
          .waitForLog(/"orders"/, 2000)
          .catch(() => server.log());
        expect(log).not.toContain(token);
      } finally {
        await a.nc.close();
        await b.nc.close();
      }
    });

    it('a token with several team values gets the subjects of each team', async () => {
      const token = await callout.serviceToken(
        'inventory',
        { team: ['blue', 'green'] },
        120,
      );
      const c = await connectWatched(server.url, { token });
      try {
        const got: string[] = [];
        c.nc.subscribe('teams.green.>', {
          callback: (_e, m) => void got.push(m.subject),
        });
        await c.nc.flush();
        c.nc.publish('teams.green.x', 'x');
        await c.nc.flush();
        await sleep(100);
        expect(got).toEqual(['teams.green.x']);
        expect(c.errors).toEqual([]);
      } finally {
        await c.nc.close();
      }
    });

    it.each([
      ['garbage', async () => 'not-a-jwt'],
      [
        'an end-user token (no source: microservice)',
        async () =>
          callout.tokens.createJwt({ sub: 'alice' }, { validitySeconds: 300 }),
      ],
      [
        'a token signed by another key',
        async () => {
          const t = await callout.serviceToken('orders');
          return `${t.slice(0, t.lastIndexOf('.'))}.${Buffer.alloc(64).toString('base64url')}`;
        },
      ],
    ])('refuses %s', async (_label, make) => {
      const before = callout.responder.stats().denied;
      const outcome = await rawConnectWith(server.port, {
        auth_token: await make(),
      });
      expect(outcome).toMatch(/Authorization Violation/i);
      expect(callout.responder.stats().denied).toBe(before + 1);
      await server.waitForLog(
        /auth callout service returned an error: token refused/i,
      );
    });

    it('refuses an expired token, and a client without any token', async () => {
      const token = await callout.serviceToken('orders', {}, 1);
      await sleep(2100);
      expect(await rawConnectWith(server.port, { auth_token: token })).toMatch(
        /Authorization Violation/i,
      );
      expect(await rawConnectWith(server.port, {})).toMatch(
        /Authorization Violation/i,
      );
      await server.waitForLog(/ERR_JWT_ISSUER_TOKEN_EXPIRED/);
    });

    it('the server itself refuses a client publishing into the callout subject, auth_users included', async () => {
      const c = await connectWatched(server.url, {
        user: setup.calloutUser,
        pass: setup.calloutPass,
      });
      try {
        c.nc.publish('$SYS.REQ.USER.AUTH', 'forged');
        await c.nc.flush().catch(() => undefined);
        await sleep(100);
        expect(c.errors.join('\n')).toMatch(
          /Permissions Violation for Publish to "\$SYS\.REQ\.USER\.AUTH"/i,
        );
      } finally {
        await c.nc.close();
      }
    });

    it('a user JWT with a short expiry is disconnected when it passes', async () => {
      const token = await callout.serviceToken(
        'shortlived',
        { team: 'blue' },
        3,
      );
      const c = await connectWatched(server.url, { token });
      const closed = c.nc.closed();
      const started = Date.now();
      await closed;
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(5000);
      await server.waitForLog(/User Authentication Expired/i);
    });
  },
);

describe('auth callout, config mode: the two sides disagree on the xkey', () => {
  it('server encrypts, responder has no xkey: every request counted as an xkey mismatch and logged once, clearly', async () => {
    const setup = configModeSetup({ xkey: true, timeout: 1 });
    const server = await startNatsServer(setup.config, [], findNatsServer210());
    const errors: string[] = [];
    const callout = await startCalloutApp(
      {
        nats: {
          callout: {
            servers: [server.url],
            user: setup.calloutUser,
            pass: setup.calloutPass,
            issuerKey: setup.issuerSeed,
            account: 'APP',
            authorizer: 'service-token',
            audience: NATS_AUDIENCE,
            timeout: 1,
          },
        },
        service: serviceSection(servicePrivateKeyPem()),
      },
      [],
      {
        log: () => undefined,
        warn: () => undefined,
        error: (m: unknown) => errors.push(String(m)),
      } as never,
    );
    try {
      const token = await callout.serviceToken('orders');
      const outcome = await rawConnectWith(server.port, { auth_token: token });
      expect(outcome).toMatch(/Authorization Violation|timeout/i);
      expect(callout.responder.stats().xkeyMismatch).toBe(1);
      expect(callout.responder.stats().allowed).toBe(0);
      expect(errors.join('\n')).toMatch(
        /xkey mismatch: the request is encrypted but callout\.xkey is not set/,
      );
    } finally {
      await callout.close();
      await server.stop();
    }
  });

  it('responder has an xkey, server sends plaintext: mismatch counted, clear error, nothing signed', async () => {
    const setup = configModeSetup({ xkey: false, timeout: 1 });
    const server = await startNatsServer(setup.config, [], findNatsServer210());
    const errors: string[] = [];
    const other = configModeSetup({ xkey: true });
    const callout = await startCalloutApp(
      {
        nats: {
          callout: {
            servers: [server.url],
            user: setup.calloutUser,
            pass: setup.calloutPass,
            issuerKey: setup.issuerSeed,
            xkey: other.xkey!.seed,
            account: 'APP',
            authorizer: 'service-token',
            audience: NATS_AUDIENCE,
            timeout: 1,
          },
        },
        service: serviceSection(servicePrivateKeyPem()),
      },
      [],
      {
        log: () => undefined,
        warn: () => undefined,
        error: (m: unknown) => errors.push(String(m)),
      } as never,
    );
    try {
      const token = await callout.serviceToken('orders');
      expect(await rawConnectWith(server.port, { auth_token: token })).toMatch(
        /Authorization Violation|timeout/i,
      );
      expect(callout.responder.stats().xkeyMismatch).toBe(1);
      expect(errors.join('\n')).toMatch(
        /the request is not encrypted but callout\.xkey is set/,
      );
    } finally {
      await callout.close();
      await server.stop();
    }
  });
});
