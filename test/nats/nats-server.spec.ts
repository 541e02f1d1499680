import 'reflect-metadata';
import { createUser } from '@nats-io/nkeys';
import { connect, jwtAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserJwt } from '../../lib/index.js';
import {
  independentNatsSetup,
  type IndependentNatsSetup,
} from '../support/nats-setup.js';
import {
  findNatsServer,
  type RunningNatsServer,
  startNatsServer,
} from '../support/nats-server.js';
import { rawConnect } from '../support/nats-raw-connect.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function newUser(): { publicKey: string; seed: string } {
  const kp = createUser();
  return { publicKey: kp.getPublicKey(), seed: text(kp.getSeed()) };
}

describe('issueUserJwt against a real nats-server (operator mode, memory resolver, account made by @nats-io/jwt)', () => {
  let setup: IndependentNatsSetup;
  let server: RunningNatsServer;

  beforeAll(async () => {
    setup = await independentNatsSetup();
    server = await startNatsServer(setup.config);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('accepts a user of the scoped key and enforces the template: {{name()}} and {{tag(team)}} subjects pass, others are refused', async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.scopedSeed,
      accountId: setup.accountId,
      publicUserKey: user.publicKey,
      name: 'alice',
      tags: ['team:blue'],
      expiresIn: 300,
    });
    const nc = await connect({
      servers: server.url,
      authenticator: jwtAuthenticator(jwt, new TextEncoder().encode(user.seed)),
    });
    try {
      // Subscribing to users.> is outside the template: only users.alice.> and teams.blue.> may be subscribed.
      const got: string[] = [];
      const refused: string[] = [];
      const watch = (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'error') refused.push(s.error.message);
        }
      })();
      void watch;
      const mine = nc.subscribe('users.alice.>');
      const team = nc.subscribe('teams.blue.>');
      for (const s of [mine, team]) {
        void (async () => {
          for await (const m of s) got.push(m.subject);
        })();
      }
      await nc.flush();
      nc.publish('users.alice.inbox', 'hi');
      nc.publish('teams.blue.chat', 'hi');
      nc.publish('users.bob.inbox', 'hi');
      nc.publish('teams.red.chat', 'hi');
      await nc.flush();
      await nc.flush();
      expect(got.toSorted()).toEqual(['teams.blue.chat', 'users.alice.inbox']);
      expect(refused.join('\n')).toMatch(
        /Permissions Violation for Publish to "users\.bob\.inbox"/i,
      );
      expect(refused.join('\n')).toMatch(
        /Permissions Violation for Publish to "teams\.red\.chat"/i,
      );
      const bad = nc.subscribe('users.bob.>');
      const closed = await bad.closed;
      expect(String(closed)).toMatch(
        /Permissions Violation for Subscription to "users\.bob\.>"/i,
      );
    } finally {
      await nc.close();
    }
  });

  it('accepts the ADR minimal JWT (no name, tags, expiry) over the raw protocol', async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.scopedSeed,
      accountId: setup.accountId,
      publicUserKey: user.publicKey,
    });
    expect(await rawConnect(server.port, jwt, user.seed)).toBe('ok');
  });

  it('refuses an expired JWT', async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.scopedSeed,
      accountId: setup.accountId,
      publicUserKey: user.publicKey,
      issuedAt: Math.floor(Date.now() / 1000) - 3600,
      expiresIn: 60,
    });
    expect(await rawConnect(server.port, jwt, user.seed)).toMatch(
      /Authorization Violation/i,
    );
    await server.waitForLog(/expired/i);
  });

  it("refuses a JWT naming another account than the signing key's", async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.scopedSeed,
      accountId: setup.otherAccountId,
      publicUserKey: user.publicKey,
    });
    expect(await rawConnect(server.port, jwt, user.seed)).toMatch(
      /Authorization Violation/i,
    );
    // while the other account's own key is accepted
    const ok = issueUserJwt({
      signingKey: setup.otherScopedSeed,
      accountId: setup.otherAccountId,
      publicUserKey: user.publicKey,
    });
    expect(await rawConnect(server.port, ok, user.seed)).toBe('ok');
  });

  it('refuses a JWT signed by a key the account does not list', async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.strangerSeed,
      accountId: setup.accountId,
      publicUserKey: user.publicKey,
    });
    expect(await rawConnect(server.port, jwt, user.seed)).toMatch(
      /Authorization Violation/i,
    );
    await server.waitForLog(/issuer is not known/i);
  });

  it('refuses a tampered JWT (body changed after signing)', async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.scopedSeed,
      accountId: setup.accountId,
      publicUserKey: user.publicKey,
      name: 'alice',
    });
    const [h, b, s] = jwt.split('.');
    const body = Buffer.from(b, 'base64url')
      .toString()
      .replace('"name":"alice"', '"name":"admin"');
    const tampered = `${h}.${Buffer.from(body).toString('base64url')}.${s}`;
    expect(await rawConnect(server.port, tampered, user.seed)).toMatch(
      /Authorization Violation/i,
    );
    await server.waitForLog(/signature verification/i);
  });

  it('refuses a connection proving another user key (nonce signed by the wrong seed)', async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.scopedSeed,
      accountId: setup.accountId,
      publicUserKey: user.publicKey,
    });
    expect(await rawConnect(server.port, jwt, newUser().seed)).toMatch(
      /Authorization Violation/i,
    );
  });

  it('shows why scoped users must carry no limits: the server refuses one that does', async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.scopedSeed,
      accountId: setup.accountId,
      publicUserKey: user.publicKey,
      limits: {},
    });
    expect(await rawConnect(server.port, jwt, user.seed)).toMatch(
      /Authorization Violation/i,
    );
    await server.waitForLog(
      /scoped users require no permissions or limits set/i,
    );
  });

  it('with a non-scoped signing key, the permissions given are the ones enforced', async () => {
    const user = newUser();
    const jwt = issueUserJwt({
      signingKey: setup.unscopedSeed,
      accountId: setup.accountId,
      publicUserKey: user.publicKey,
      permissions: {
        pub: { allow: ['orders.>'] },
        sub: { allow: ['orders.>'] },
      },
    });
    const nc = await connect({
      servers: server.url,
      authenticator: jwtAuthenticator(jwt, new TextEncoder().encode(user.seed)),
    });
    try {
      const errors: string[] = [];
      void (async () => {
        for await (const s of nc.status())
          if (s.type === 'error') errors.push(s.error.message);
      })();
      const got: string[] = [];
      const sub = nc.subscribe('orders.>');
      void (async () => {
        for await (const m of sub) got.push(m.subject);
      })();
      await nc.flush();
      nc.publish('orders.new', 'x');
      nc.publish('billing.new', 'x');
      await nc.flush();
      await nc.flush();
      expect(got).toEqual(['orders.new']);
      expect(errors.join('\n')).toMatch(
        /Permissions Violation for Publish to "billing\.new"/i,
      );
    } finally {
      await nc.close();
    }
  });
});

describe('the nats-server test helper', () => {
  it('fails, never skips, when nats-server is absent, saying how to install it', () => {
    expect(() => findNatsServer(['/nonexistent'])).toThrow(
      /apt-get install -y nats-server/,
    );
  });
});
