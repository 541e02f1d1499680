import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNatsDevelopmentAccount,
  JwtIssuerModule,
  type NatsDevelopmentAccount,
  NatsUserJwtService,
} from '../../lib/index.js';
import {
  type RunningNatsServer,
  startNatsServer,
} from '../support/nats-server.js';
import { independentNatsSetup } from '../support/nats-setup.js';
import { rawConnect } from '../support/nats-raw-connect.js';

async function service(
  nats: Record<string, unknown>,
): Promise<NatsUserJwtService> {
  const moduleRef = await Test.createTestingModule({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, nats })],
  }).compile();
  return moduleRef.get(NatsUserJwtService);
}

/** Subscribes to `listen`, publishes to `publish`, and reports what came back and which permission errors arrived. */
async function roundTrip(
  nc: NatsConnection,
  listen: string[],
  publish: string[],
): Promise<{ got: string[]; errors: string }> {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status())
      if (s.type === 'error') errors.push(s.error.message);
  })();
  const got: string[] = [];
  for (const subject of listen) {
    const sub = nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) got.push(m.subject);
    })();
  }
  await nc.flush();
  for (const subject of publish) nc.publish(subject, 'x');
  await nc.flush();
  await nc.flush();
  return { got: got.toSorted(), errors: errors.join('\n') };
}

describe('createNatsDevelopmentAccount: its server config runs a real nats-server that accepts the users it issues', () => {
  let dev: NatsDevelopmentAccount;
  let server: RunningNatsServer;

  beforeAll(async () => {
    dev = createNatsDevelopmentAccount();
    server = await startNatsServer(dev.serverConfig({ port: -1 }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('writes an operator-mode config with the account preloaded, and the default port 4222', () => {
    const text = dev.serverConfig();
    expect(text).toContain('port: 4222');
    expect(text).toContain('resolver: MEMORY');
    expect(text).toContain(`operator: "${dev.operator.jwt}"`);
    expect(text).toContain(`${dev.account.publicKey}: "${dev.account.jwt}"`);
    expect(text).not.toContain(dev.signingKey.seed);
    expect(text).not.toContain(dev.account.seed);
    expect(text).not.toContain(dev.operator.seed);
  });

  it('createUser().creds connects through credsAuthenticator; the template applies {{name()}} and {{tag(team)}}', async () => {
    const nats = await service(dev.moduleOptions);
    const user = nats.createUser({
      name: 'alice',
      tags: ['team:blue'],
      expiresIn: 300,
    });
    const nc = await connect({
      servers: server.url,
      authenticator: credsAuthenticator(new TextEncoder().encode(user.creds)),
    });
    try {
      const { got, errors } = await roundTrip(
        nc,
        ['users.alice.>', 'teams.blue.>'],
        ['users.alice.a', 'teams.blue.b', 'users.bob.c', 'teams.red.d'],
      );
      expect(got).toEqual(['teams.blue.b', 'users.alice.a']);
      expect(errors).toMatch(
        /Permissions Violation for Publish to "users\.bob\.c"/i,
      );
      expect(errors).toMatch(
        /Permissions Violation for Publish to "teams\.red\.d"/i,
      );
    } finally {
      await nc.close();
    }
  });

  it('a user JWT from another development account is refused', async () => {
    const stranger = await service(
      createNatsDevelopmentAccount().moduleOptions,
    );
    const user = stranger.createUser();
    expect(await rawConnect(server.port, user.jwt, user.seed)).toMatch(
      /Authorization Violation/i,
    );
  });
});

describe('NatsUserJwtService with a non-scoped signing key (account made by @nats-io/jwt)', () => {
  let server: RunningNatsServer;
  let setup: Awaited<ReturnType<typeof independentNatsSetup>>;

  beforeAll(async () => {
    setup = await independentNatsSetup();
    server = await startNatsServer(setup.config);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('knows the key is non-scoped and writes the -1 limits a non-scoped user needs to subscribe', async () => {
    const nats = await service({
      accountId: setup.accountId,
      signingKey: setup.unscopedSeed,
      accountJwt: setup.accountJwt,
    });
    expect(nats.signingKeyScope).toBe('unscoped');
    const user = nats.createUser({
      permissions: {
        pub: { allow: ['orders.>'] },
        sub: { allow: ['orders.>'] },
      },
    });
    const nc = await connect({
      servers: server.url,
      authenticator: credsAuthenticator(new TextEncoder().encode(user.creds)),
    });
    try {
      const { got, errors } = await roundTrip(
        nc,
        ['orders.>'],
        ['orders.one', 'billing.two'],
      );
      expect(got).toEqual(['orders.one']);
      expect(errors).toMatch(
        /Permissions Violation for Publish to "billing\.two"/i,
      );
    } finally {
      await nc.close();
    }
  });

  it('knows the scoped key of the same account and reports its template', async () => {
    const nats = await service({
      accountId: setup.accountId,
      signingKey: setup.scopedSeed,
      accountJwt: setup.accountJwt,
    });
    expect(nats.signingKeyScope).toBe('scoped');
    expect(nats.scopeTemplate?.pub?.allow).toEqual([
      'users.{{name()}}.>',
      'teams.{{tag(team)}}.>',
    ]);
    const user = nats.createUser({ name: 'carol', tags: ['team:green'] });
    expect(await rawConnect(server.port, user.jwt, user.seed)).toBe('ok');
  });
});
