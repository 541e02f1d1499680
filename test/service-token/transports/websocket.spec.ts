import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerOf, rsaKeys } from '../../support/forge.js';
import {
  LogCollector,
  type RunningApp,
} from '../../support/service-token-apps.js';
import {
  M1_ISSUER,
  m2Service,
  refusalCases,
  startM1,
  waitFor,
} from '../../support/service-token-transports.js';
import {
  connectClient,
  type GatewayClient,
  gatewayRuns,
  type RunningGatewayApp,
  runsFor,
  startGatewayApp,
  type WsAdapterKind,
} from '../../support/websocket-gateways.js';

let nextId = 0;

/** The refusal a client sees at the handshake, per adapter. */
async function expectRefusedAtHandshake(
  adapter: WsAdapterKind,
  client: GatewayClient,
): Promise<void> {
  if (adapter === 'ws') {
    // The upgrade is accepted, then closed with 4401 before any handler runs.
    await client.connected;
    expect(await client.ended).toEqual({ code: 4401, reason: 'Unauthorized' });
  } else {
    await expect(client.connected).rejects.toMatchObject({
      message: 'Unauthorized',
      data: { statusCode: 401, message: 'Unauthorized' },
    });
  }
}

/** How the caller of a refused message sees it: an `exception` event, then (401) the end of the socket. */
const UNAUTHORIZED = [
  'exception',
  { status: 'error', statusCode: 401, message: 'Unauthorized' },
];

describe.each<WsAdapterKind>(['ws', 'socket.io'])(
  'M1 → M2 over WebSockets (%s adapter, real clients), ServiceTokenGuard and ServiceTokenHandshake on M2’s gateway',
  (adapter) => {
    const keys = rsaKeys();
    const logs = new LogCollector();
    let m1: RunningApp;
    let m2: RunningGatewayApp;
    let staticKid = '';
    const tokensSeen: string[] = [];
    /** Credentials for the adapter: `ws` sends the header, socket.io the auth payload. */
    const credentials = (authorization: string | undefined) =>
      adapter === 'ws'
        ? { authorization }
        : { token: authorization?.replace(/^Bearer /, '') };

    beforeAll(async () => {
      m1 = await startM1(keys.privatePem);
      // No clock tolerance: the expiry test waits for exp itself.
      m2 = await startGatewayApp(
        m2Service(m1, { clockTolerance: 0, refusalLogLines: 1000 }),
        adapter,
        { logger: logs },
      );
      staticKid = headerOf(await m1.service.getToken()).kid as string;
    }, 60_000);
    afterAll(async () => {
      await m2?.app.close();
      await m1?.app.close();
      // No token in any log line: neither a whole one nor its signature.
      const text = logs.lines.join('\n');
      for (const t of tokensSeen) {
        expect(text).not.toContain(t.split('.')[2]);
      }
    });

    it('a valid token connects and its messages reach the handler, @ServiceClaims giving the caller', async () => {
      const bearer = await m1.service.authorizationHeader();
      tokensSeen.push(bearer);
      const client = connectClient(m2, credentials(bearer));
      await client.connected;
      for (let i = 0; i < 3; i++) {
        const id = ++nextId;
        client.send('whoami', { id });
        expect(await client.next('whoami')).toEqual([
          'whoami',
          {
            caller: { issuer: M1_ISSUER, subject: 'm1' },
            sub: 'm1',
            data: { id },
          },
        ]);
        expect(runsFor(id)).toHaveLength(1);
      }
      client.close();
    });

    if (adapter === 'socket.io') {
      it('socket.io: the Authorization header of the handshake works too, and auth.token may say Bearer', async () => {
        const bearer = await m1.service.authorizationHeader();
        for (const c of [{ authorization: bearer }, { token: bearer }]) {
          const client = connectClient(m2, c);
          await client.connected;
          const id = ++nextId;
          client.send('whoami', { id });
          expect(await client.next('whoami')).toMatchObject([
            'whoami',
            { data: { id } },
          ]);
          client.close();
        }
      });
    }

    const refusals = () =>
      refusalCases(
        () => m1.service,
        M1_ISSUER,
        keys.privateKey,
        () => staticKid,
      );

    it.each(refusals())(
      'a handshake with %s is refused (%s logged) and no handler runs, even for a message sent at once',
      async (_name, code, make) => {
        const authorization = await make();
        if (authorization) tokensSeen.push(authorization);
        const id = ++nextId;
        const before = logs.lines.length;
        const client = connectClient(m2, credentials(authorization), (c) =>
          c.send('whoami', { id }),
        );
        await expectRefusedAtHandshake(adapter, client);
        await client.ended;
        await new Promise((r) => setTimeout(r, 50));
        expect(runsFor(id)).toHaveLength(0);
        const logged = logs.lines
          .slice(before)
          .filter((l) => l.includes(`${adapter} handshake /`));
        expect(logged).toHaveLength(1);
        expect(logged[0]).toContain(`ERR_JWT_ISSUER_${code}`);
      },
    );

    it('a garbage token is refused at the handshake', async () => {
      for (const garbage of ['Bearer x.y.z', 'Bearer ' + 'A'.repeat(9000)]) {
        const client = connectClient(m2, credentials(garbage));
        await expectRefusedAtHandshake(adapter, client);
      }
    });

    it('a connection whose token expires is refused on its next message, and its socket ends', async () => {
      const token = await m1.service.createJwt(
        { source: 'microservice', sub: 'm1' },
        { validitySeconds: 2 },
      );
      tokensSeen.push(token);
      const exp = (
        JSON.parse(
          Buffer.from(token.split('.')[1], 'base64url').toString(),
        ) as { exp: number }
      ).exp;
      const client = connectClient(m2, credentials(`Bearer ${token}`));
      await client.connected;
      const early = ++nextId;
      client.send('whoami', { id: early });
      expect(await client.next('whoami')).toMatchObject([
        'whoami',
        { data: { id: early } },
      ]);
      // Real time: wait until the token's exp has passed.
      await waitFor(() => Date.now() >= exp * 1000 + 50, 'exp', 5000);
      const late = ++nextId;
      const before = logs.lines.length;
      client.send('whoami', { id: late });
      expect(await client.next('whoami')).toEqual(UNAUTHORIZED);
      expect(await client.ended).toEqual(
        adapter === 'ws'
          ? { code: 4401, reason: 'Unauthorized' }
          : { reason: 'io server disconnect' },
      );
      expect(runsFor(late)).toHaveLength(0);
      expect(logs.lines.slice(before).join('\n')).toContain(
        'ws EventsGateway.whoami: ERR_JWT_ISSUER_TOKEN_EXPIRED',
      );
    });

    it('a valid token of an issuer the handler does not allow: 403 for that message, the socket stays', async () => {
      const client = connectClient(
        m2,
        credentials(await m1.service.authorizationHeader()),
      );
      await client.connected;
      const id = ++nextId;
      client.send('restricted', { id });
      expect(await client.next('restricted')).toEqual([
        'exception',
        { status: 'error', statusCode: 403, message: 'Forbidden' },
      ]);
      expect(runsFor(id)).toHaveLength(0);
      const after = ++nextId;
      client.send('whoami', { id: after });
      expect(await client.next('whoami')).toMatchObject([
        'whoami',
        { data: { id: after } },
      ]);
      client.close();
    });

    it('@RequireScopes on a gateway message: a token without the scope gets 403 for that message, one with it gets in', async () => {
      const without = connectClient(
        m2,
        credentials(await m1.service.authorizationHeader()),
      );
      await without.connected;
      const id = ++nextId;
      without.send('scoped', { id });
      expect(await without.next('scoped')).toEqual([
        'exception',
        { status: 'error', statusCode: 403, message: 'Forbidden' },
      ]);
      expect(runsFor(id)).toHaveLength(0);
      without.close();

      const token = await m1.service.createJwt({
        source: 'microservice',
        sub: 'orders',
        scope: 'invoices:read invoices:write',
      });
      const granted = connectClient(m2, credentials(`Bearer ${token}`));
      await granted.connected;
      const ok = ++nextId;
      granted.send('scoped', { id: ok });
      expect(await granted.next('scoped')).toMatchObject([
        'scoped',
        { id: ok },
      ]);
      expect(runsFor(ok)).toHaveLength(1);
      granted.close();
    });

    it('handleConnection ran only for the admitted sockets, each with its claims (refused ones never reach the gateway)', () => {
      const runs = gatewayRuns.filter((r) => r.handler === 'handleConnection');
      expect(runs.length).toBeGreaterThan(0);
      expect(runs.filter((r) => r.claims?.iss !== M1_ISSUER)).toHaveLength(0);
    });
  },
);
