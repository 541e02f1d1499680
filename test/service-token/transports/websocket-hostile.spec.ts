import 'reflect-metadata';
import { connect } from 'node:net';
import { Logger } from '@nestjs/common';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerError,
  ServiceTokenHandshake,
  type ServiceTokenHandshakeRequest,
  ServiceTokenVerifier,
} from '../../../lib/index.js';
import { forge, rsaKeys } from '../../support/forge.js';
import {
  type HostileJwks,
  startHostileJwks,
} from '../../support/hostile-jwks.js';
import {
  LogCollector,
  type RunningApp,
} from '../../support/service-token-apps.js';
import {
  M1_ISSUER,
  m2Service,
  startM1,
  waitFor,
} from '../../support/service-token-transports.js';
import {
  connectClient,
  gatewayRuns,
  type RunningGatewayApp,
  runsFor,
  startGatewayApp,
  type WsAdapterKind,
} from '../../support/websocket-gateways.js';

const now = (): number => Math.floor(Date.now() / 1000);
let nextId = 10_000;
const keys = rsaKeys();
const strangerKeys = rsaKeys();
let m1: RunningApp;

beforeAll(async () => {
  m1 = await startM1(keys.privatePem);
}, 60_000);
afterAll(async () => {
  await m1?.app.close();
});

/** A token M1's JWKS does not have the key of: its verification fetches the JWKS first, then refuses. */
const strangerToken = () =>
  forge(
    { alg: 'RS256', kid: 'not-in-the-jwks' },
    {
      source: 'microservice',
      iss: M1_ISSUER,
      sub: 'm1',
      iat: now(),
      exp: now() + 60,
    },
    strangerKeys.privateKey,
  );

describe.each<WsAdapterKind>(['ws', 'socket.io'])(
  'WebSocket handshakes (%s adapter): verifications that wait for a JWKS, gateways left unprotected',
  (adapter) => {
    const credentials = (token: string) =>
      adapter === 'ws' ? { authorization: `Bearer ${token}` } : { token };

    it('the first client of a fresh M2 waits for the JWKS: its message sent at once is handled, after the verification', async () => {
      const m2 = await startGatewayApp(m2Service(m1), adapter);
      try {
        const id = ++nextId;
        const client = connectClient(
          m2,
          credentials(await m1.service.getToken()),
          (c) => c.send('whoami', { id }),
        );
        await client.connected;
        expect(await client.next('whoami')).toMatchObject([
          'whoami',
          { caller: { issuer: M1_ISSUER, subject: 'm1' }, data: { id } },
        ]);
        // handleConnection ran once the socket was admitted, with its claims.
        expect(
          gatewayRuns.filter(
            (r) => r.handler === 'handleConnection' && !r.claims,
          ),
        ).toHaveLength(0);
        client.close();
      } finally {
        await m2.app.close();
      }
    });

    it('a token refused only after a JWKS fetch: the message sent at once never reaches a handler', async () => {
      const logs = new LogCollector();
      const m2 = await startGatewayApp(m2Service(m1), adapter, {
        logger: logs,
      });
      try {
        const id = ++nextId;
        const client = connectClient(m2, credentials(strangerToken()), (c) =>
          c.send('whoami', { id }),
        );
        if (adapter === 'ws') {
          await client.connected;
          expect(await client.ended).toEqual({
            code: 4401,
            reason: 'Unauthorized',
          });
        } else {
          await expect(client.connected).rejects.toMatchObject({
            message: 'Unauthorized',
          });
        }
        expect(runsFor(id)).toHaveLength(0);
        expect(logs.lines.join('\n')).toContain(`${adapter} handshake /`);
        expect(logs.lines.join('\n')).toContain(
          'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
        );
      } finally {
        await m2.app.close();
      }
    });

    it('a global ServiceTokenGuard (APP_GUARD) checks gateway messages too', async () => {
      const m2 = await startGatewayApp(m2Service(m1), adapter, {
        gateway: 'global',
      });
      try {
        const good = connectClient(m2, {
          ...credentials(await m1.service.getToken()),
          path: '/global',
        });
        await good.connected;
        const id = ++nextId;
        good.send('whoami', { id });
        expect(await good.next('whoami')).toEqual([
          'whoami',
          { caller: { issuer: M1_ISSUER, subject: 'm1' }, data: { id } },
        ]);
        good.close();
        const bad = connectClient(m2, {
          ...credentials('not-a-token'),
          path: '/global',
        });
        if (adapter === 'ws') {
          await bad.connected;
          expect((await bad.ended).code).toBe(4401);
        } else {
          await expect(bad.connected).rejects.toMatchObject({
            message: 'Unauthorized',
          });
        }
      } finally {
        await m2.app.close();
      }
    });

    it('a JWKS that withdraws every key: an admitted socket is served through the grace period, then its next message is refused and the socket ended', async () => {
      const ISSUER = 'http://withdrawing.test';
      const withdrawing = rsaKeys();
      const jwk = {
        ...withdrawing.publicKey.export({ format: 'jwk' }),
        kid: 'w-1',
        alg: 'RS256',
      };
      const tokenFor = (kid: string) =>
        forge(
          { alg: 'RS256', kid },
          {
            source: 'microservice',
            iss: ISSUER,
            sub: 'withdrawn',
            exp: now() + 600,
          },
          withdrawing.privateKey,
        );
      let jwks: HostileJwks | undefined;
      let m2: RunningGatewayApp | undefined;
      try {
        jwks = await startHostileJwks();
        jwks.set('/w', { kind: 'keys', keys: [jwk] });
        const logs = new LogCollector();
        m2 = await startGatewayApp(
          {
            trustedIssuers: [{ issuer: ISSUER, jwksUri: jwks.url('/w') }],
            jwksCooldown: 0,
            jwksCacheMaxAge: 600,
            jwksKeyGracePeriod: 1,
          },
          adapter,
          { logger: logs },
        );
        const client = connectClient(m2, credentials(tokenFor('w-1')));
        await client.connected;
        const whoami = async () => {
          const id = ++nextId;
          client.send('whoami', { id });
          return client.next('whoami');
        };
        expect(await whoami()).toMatchObject([
          'whoami',
          { caller: { issuer: ISSUER, subject: 'withdrawn' } },
        ]);
        // The issuer withdraws its key; the next fetch (another client's unknown kid asks for it) finds none.
        jwks.set('/w', { kind: 'keys', keys: [] });
        const other = connectClient(m2, credentials(tokenFor('w-2')));
        if (adapter === 'ws') await other.ended;
        else await other.connected.catch(() => undefined);
        expect(jwks.hits('/w')).toBe(2);
        // Within the grace period the socket is still served.
        expect(await whoami()).toMatchObject(['whoami', {}]);
        await new Promise((r) => setTimeout(r, 1100));
        expect(await whoami()).toEqual([
          'exception',
          { status: 'error', statusCode: 401, message: 'Unauthorized' },
        ]);
        await client.ended;
        expect(logs.lines.join('\n')).toContain(
          'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN: the key that signed the token the socket connected with has been withdrawn by its issuer',
        );
      } finally {
        await m2?.app.close();
        await jwks?.close();
      }
    });

    it('a guarded gateway whose afterInit does not protect the server: every message is refused, the socket ended', async () => {
      const logs = new LogCollector();
      const m2 = await startGatewayApp(m2Service(m1), adapter, {
        logger: logs,
        gateway: 'unprotected',
      });
      try {
        const id = ++nextId;
        const client = connectClient(m2, {
          ...credentials(await m1.service.getToken()),
          path: '/unprotected',
        });
        await client.connected;
        client.send('whoami', { id });
        expect(await client.next('whoami')).toEqual([
          'exception',
          { status: 'error', statusCode: 401, message: 'Unauthorized' },
        ]);
        await client.ended;
        expect(runsFor(id)).toHaveLength(0);
        expect(logs.lines.join('\n')).toContain(
          "ws UnprotectedGateway.whoami: ERR_JWT_ISSUER_TOKEN_MISSING: the socket's handshake was not verified",
        );
      } finally {
        await m2.app.close();
      }
    });
  },
);

/** The bad credentials of the flood: none, malformed, a key the JWKS does not have. */
const garbage = (i: number) =>
  i % 3 === 0
    ? undefined
    : i % 3 === 1
      ? `Bearer ${'x'.repeat(i)}.${i}.y`
      : `Bearer ${strangerToken()}`;

describe.each<WsAdapterKind>(['ws', 'socket.io'])(
  'hostile WebSocket clients (%s adapter)',
  (adapter) => {
    const logs = new LogCollector();
    let m2: RunningGatewayApp;
    const LINES = 3;

    beforeAll(async () => {
      m2 = await startGatewayApp(
        m2Service(m1, { refusalLogLines: LINES, refusalLogWindow: 600 }),
        adapter,
        { logger: logs },
      );
      // The JWKS is fetched once, by a valid client, so the flood below is refused synchronously.
      const client = connectClient(
        m2,
        adapter === 'ws'
          ? { authorization: await m1.service.authorizationHeader() }
          : { token: await m1.service.getToken() },
      );
      await client.connected;
      client.close();
    }, 60_000);
    afterAll(async () => {
      await m2?.app.close();
      // The flood's refusals past the budget: one summary line, by code, written when the app closes.
      expect(logs.lines.join('\n')).toMatch(
        /\d+ more refused calls in the last \d+ s not logged \(ERR_JWT_ISSUER_/,
      );
    });

    const refusedAtHandshake = async (c: ReturnType<typeof connectClient>) => {
      if (adapter === 'ws') {
        await c.connected;
        return (await c.ended).code;
      }
      return c.connected.then(
        () => 'connected',
        (e: { message: string }) => e.message,
      );
    };

    it('a flood of refused handshakes costs a bounded number of log lines, and valid clients still connect', async () => {
      const before = logs.lines.length;
      const N = 120;
      for (let batch = 0; batch < N; batch += 20) {
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, k) => {
            const authorization = garbage(batch + k);
            return refusedAtHandshake(
              connectClient(
                m2,
                adapter === 'ws'
                  ? { authorization }
                  : { token: authorization?.slice(7) },
              ),
            );
          }),
        );
        expect(new Set(outcomes)).toEqual(
          new Set([adapter === 'ws' ? 4401 : 'Unauthorized']),
        );
      }
      const detailed = logs.lines
        .slice(before)
        .filter((l) => l.includes('Refused service token'));
      expect(detailed.length).toBeLessThanOrEqual(LINES);
      const client = connectClient(
        m2,
        adapter === 'ws'
          ? { authorization: await m1.service.authorizationHeader() }
          : { token: await m1.service.getToken() },
      );
      await client.connected;
      client.close();
    });

    it('huge handshakes: a header past Node’s limit is refused by HTTP (431), a huge token before any parsing', async () => {
      const hugeHeader = connectClient(m2, {
        authorization: `Bearer ${'a'.repeat(20_000)}`,
      });
      if (adapter === 'ws') {
        expect(await hugeHeader.ended).toEqual({ code: 431, reason: 'http' });
      } else {
        await expect(hugeHeader.connected).rejects.toBeDefined();
      }
      if (adapter === 'socket.io') {
        // In socket.io's auth payload (no header limit applies): refused as too large.
        const before = logs.lines.length;
        const big = connectClient(m2, { token: 'a'.repeat(500_000) });
        await expect(big.connected).rejects.toMatchObject({
          message: 'Unauthorized',
        });
        const text = logs.lines.slice(before).join('\n');
        expect(text.length).toBeLessThan(2000);
        expect(text).not.toContain('a'.repeat(100));
        // Past socket.io's maxHttpBufferSize (1 MB) the connection is dropped before any middleware.
        const over = connectClient(m2, { token: 'a'.repeat(1_200_000) });
        expect(await over.ended).toEqual({ reason: 'transport close' });
        // Not a string, nested, empty: no token.
        for (const token of [{ a: [1, { b: 2 }] }, 42, null, '', 'x y z']) {
          const c = connectClient(m2, { token });
          await expect(c.connected).rejects.toMatchObject({
            message: 'Unauthorized',
          });
        }
      }
      const ok = connectClient(
        m2,
        adapter === 'ws'
          ? { authorization: await m1.service.authorizationHeader() }
          : { token: await m1.service.getToken() },
      );
      await ok.connected;
      ok.close();
    });

    if (adapter === 'ws') {
      it('a refused socket that sends garbage frames does not take the server down', async () => {
        const { port } = new URL(m2.url);
        for (const frame of [
          Buffer.from([0xff, 0x80, 0, 0, 0, 0]), // reserved opcode, masked
          Buffer.from([0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // absurd length
          Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]), // unmasked
        ]) {
          // Raw TCP: the frame travels with the upgrade request, so the server parses it right after the refusal.
          const socket = connect(Number(port), '127.0.0.1');
          const upgrade = Buffer.from(
            'GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
              'Authorization: Bearer nope\r\n\r\n',
          );
          socket.write(Buffer.concat([upgrade, frame]));
          const answer: Buffer[] = [];
          socket.on('data', (d: Buffer) => answer.push(d));
          socket.on('error', () => undefined); // the server may reset the connection
          // The 101, then the close frame (0x88) with code 4401; the server has parsed the garbage by then or soon.
          await waitFor(
            () => Buffer.concat(answer).includes(Buffer.from([0x88])),
            'close frame',
          );
          await new Promise((r) => setTimeout(r, 100));
          socket.destroy();
          const all = Buffer.concat(answer);
          expect(all.toString('latin1')).toMatch(/^HTTP\/1.1 101 /);
          const close = all.subarray(all.indexOf(Buffer.from([0x88])));
          expect(close.readUInt16BE(2)).toBe(4401);
        }
        const ok = connectClient(m2, {
          authorization: await m1.service.authorizationHeader(),
        });
        await ok.connected;
        ok.close();
      });
    }
  },
);

describe('ServiceTokenHandshake.protect', () => {
  it('refuses what is not a ws or socket.io server, and a module without a service section', async () => {
    const handshake = new ServiceTokenHandshake(
      new ServiceTokenVerifier({ trustedIssuers: [] }),
    );
    for (const bad of [undefined, null, 'server', {}, { use() {} }]) {
      expect(() => handshake.protect(bad)).toThrow(
        /ServiceTokenHandshake.protect: expected the server Nest passes to afterInit/,
      );
    }
    const { app } = await import('../../support/service-token-apps.js').then(
      async () => {
        const { Test } = await import('@nestjs/testing');
        const { Module } = await import('@nestjs/common');
        const { JwtIssuerModule } = await import('../../../lib/index.js');
        @Module({ imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true })] })
        class NoServiceModule {}
        const ref = await Test.createTestingModule({
          imports: [NoServiceModule],
        }).compile();
        return { app: await ref.init() };
      },
    );
    const server = new WebSocketServer({ noServer: true });
    try {
      expect(() => app.get(ServiceTokenHandshake).protect(server)).toThrow(
        expect.objectContaining({
          code: 'ERR_JWT_ISSUER_NOT_CONFIGURED',
        }) as JwtIssuerError,
      );
    } finally {
      server.close();
      await app.close();
    }
  });
});

/** The handshake's token reading, exposed for the fuzzer. */
class ExposedHandshake extends ServiceTokenHandshake {
  read(h: ServiceTokenHandshakeRequest) {
    return this.extractToken(h);
  }
}

describe('ServiceTokenHandshake.extractToken, fuzzed', () => {
  it('any auth payload and header: a token without spaces or undefined, never a throw, in bounded time', () => {
    Logger.overrideLogger(false);
    const h = new ExposedHandshake(
      new ServiceTokenVerifier({ trustedIssuers: [] }),
    );
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const pieces = [
      'Bearer',
      'bearer',
      ' ',
      '  ',
      'a.b.c',
      '\u0000',
      '\u00ff',
      'é',
      '{',
      'x',
    ];
    const text = (): string => {
      let s = '';
      const n = Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++)
        s += pieces[Math.floor(rnd() * pieces.length)];
      return s;
    };
    const value = (depth = 0): unknown => {
      const k = Math.floor(rnd() * 8);
      if (k === 0) return text();
      if (k === 1) return Math.floor(rnd() * 100);
      if (k === 2) return null;
      if (k === 3) return undefined;
      if (k === 4 && depth < 3) return [value(depth + 1), value(depth + 1)];
      if (k === 5 && depth < 3) return { token: value(depth + 1) };
      if (k === 6) return 'x'.repeat(Math.floor(rnd() * 100_000));
      return true;
    };
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) {
      const adapter = rnd() < 0.5 ? 'ws' : 'socket.io';
      const auth = rnd() < 0.7 ? { token: value() } : value();
      const header = value();
      const token = h.read({
        adapter,
        headers: { authorization: header as string },
        auth: adapter === 'ws' ? undefined : auth,
        path: '/',
      });
      if (token !== undefined) {
        expect(typeof token).toBe('string');
        expect(token).not.toContain(' ');
        expect(token.length).toBeGreaterThan(0);
      }
    }
    expect(Date.now() - started).toBeLessThan(20_000);
    Logger.overrideLogger(true);
  });
});
