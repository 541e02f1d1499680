import 'reflect-metadata';
import { sign } from 'node:crypto';
import {
  createAccount,
  createCurve,
  createServer,
  createUser,
  fromPublic,
  type KeyPair,
} from '@nats-io/nkeys';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AUTH_CALLOUT_SUBJECT } from '../../../lib/index.js';
import {
  configModeSetup,
  servicePrivateKeyPem,
} from '../../support/nats-callout.js';
import { seedPrivateKey } from '../../support/nats-raw-connect.js';
import {
  findNatsServer210,
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import {
  type CalloutApp,
  serviceSection,
  startCalloutApp,
} from './callout-app.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const b64 = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString(
    'base64url',
  );
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<
    string,
    any
  >;

/** Signs NATS claims with an nkey (decoded by @nats-io/nkeys), independently of the library. */
function signClaims(
  claims: unknown,
  kp: KeyPair,
  header: unknown = { typ: 'JWT', alg: 'ed25519-nkey' },
): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = sign(
    null,
    Buffer.from(input),
    seedPrivateKey(text(kp.getSeed())),
  );
  return `${input}.${sig.toString('base64url')}`;
}

// nats-server 2.10 itself refuses a client's PUB on $SYS.REQ.USER.AUTH in the callout account (auth_users included:
// "Permissions Violation", see the config-mode spec), so the hostile publisher works on a server without the callout
// where the subject is open: what a responder sees if anything else can reach its subject (a leaf node, an import,
// too broad permissions). The responder is configured exactly as in config mode, xkey on.
function verifyNkey(jwt: string, key: string): boolean {
  const [h, p, s] = jwt.split('.');
  return fromPublic(key).verify(
    new TextEncoder().encode(`${h}.${p}`),
    Buffer.from(s, 'base64url'),
  );
}

describe('auth callout: hostile requests published into the callout subject (config-mode responder, xkey on)', () => {
  const setup = configModeSetup({ xkey: true });
  const openConfig = [
    'host: 127.0.0.1',
    'port: -1',
    `authorization { users: [ { user: callout, password: "${setup.calloutPass}" } ] }`,
    '',
  ].join('\n');
  let server: RunningNatsServer;
  let callout: CalloutApp;
  let attacker: NatsConnection;
  // A fake "server": its own signing nkey and xkey.
  const fakeServer = createServer();
  const fakeXkey = createCurve();

  /** A well-formed request, as nats-server writes it, from the fake server. */
  function request(
    overrides: {
      claims?: Record<string, unknown>;
      nats?: Record<string, unknown>;
    } = {},
  ) {
    const iat = Math.floor(Date.now() / 1000);
    const userNkey = createUser().getPublicKey();
    return {
      userNkey,
      claims: {
        aud: 'nats-authorization-request',
        exp: iat + 2,
        iat,
        iss: fakeServer.getPublicKey(),
        jti: `J${Math.random().toString(36).slice(2)}`,
        sub: setup.issuerPublicKey,
        nats: {
          server_id: {
            name: 'fake',
            host: '127.0.0.1',
            id: fakeServer.getPublicKey(),
            version: '2.10.27',
            xkey: fakeXkey.getPublicKey(),
          },
          user_nkey: userNkey,
          client_info: {
            host: '127.0.0.1',
            id: 99,
            user: 'RAW-TOKEN',
            kind: 'Client',
            type: 'nats',
          },
          connect_opts: {
            auth_token: 'TOKEN',
            lang: 'raw',
            version: '0',
            protocol: 1,
          },
          type: 'authorization_request',
          version: 2,
          ...overrides.nats,
        },
        ...overrides.claims,
      },
    };
  }

  /** Publishes a payload (sealed for the responder by default) and returns the reply, or undefined after 250 ms. */
  async function send(
    payload: Uint8Array | string,
    opts: { seal?: boolean; header?: string; timeout?: number } = {},
  ): Promise<Uint8Array | undefined> {
    let bytes =
      typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    if (opts.seal !== false)
      bytes = fakeXkey.seal(bytes, setup.xkey!.publicKey);
    const h = headers();
    h.set('Nats-Server-Xkey', opts.header ?? fakeXkey.getPublicKey());
    try {
      const reply = await attacker.request(AUTH_CALLOUT_SUBJECT, bytes, {
        timeout: opts.timeout ?? 250,
        headers: h,
      });
      return reply.data;
    } catch {
      return undefined;
    }
  }

  beforeAll(async () => {
    server = await startNatsServer(openConfig, [], findNatsServer210());
    callout = await startCalloutApp({
      nats: {
        callout: {
          servers: [server.url],
          user: setup.calloutUser,
          pass: setup.calloutPass,
          issuerKey: setup.issuerSeed,
          xkey: setup.xkey!.seed,
          account: 'APP',
          authorizer: 'password',
          users: { TOKENUSER: 'pw' },
          // The 'password' authorizer gives no tags: its template uses only the name.
          permissions: {
            pub: { allow: ['users.{{name()}}.>'] },
            sub: { allow: ['users.{{name()}}.>', '_INBOX.>'] },
          },
          maxExpiresIn: 600,
          maxRequestBytes: 16 * 1024,
        },
      },
      service: serviceSection(servicePrivateKeyPem()),
    });
    attacker = await connect({
      servers: server.url,
      user: setup.calloutUser,
      pass: setup.calloutPass,
    });
  });
  afterAll(async () => {
    await attacker?.close();
    await callout?.close();
    await server?.stop();
  });

  it('control: a well-formed request is answered with a response sealed for the signed xkey, holding a user JWT of the issuer with aud APP and no issuer_account', async () => {
    const r = request({
      nats: { connect_opts: { user: 'TOKENUSER', pass: 'pw' } },
    });
    const reply = await send(signClaims(r.claims, fakeServer));
    expect(reply).toBeDefined();
    const opened = fakeXkey.open(reply!, setup.xkey!.publicKey);
    expect(opened).not.toBeNull();
    const response = text(opened!);
    const rc = claimsOf(response);
    expect(rc).toMatchObject({
      aud: fakeServer.getPublicKey(),
      sub: r.userNkey,
      iss: setup.issuerPublicKey,
    });
    expect(rc.nats).toMatchObject({
      type: 'authorization_response',
      version: 2,
    });
    // Signatures checked with @nats-io/nkeys (tweetnacl), not the library.
    expect(verifyNkey(response, setup.issuerPublicKey)).toBe(true);
    const user = claimsOf(rc.nats.jwt);
    expect(verifyNkey(rc.nats.jwt, setup.issuerPublicKey)).toBe(true);
    expect(user).toMatchObject({
      aud: 'APP',
      iss: setup.issuerPublicKey,
      sub: r.userNkey,
      name: 'TOKENUSER',
    });
    expect(user.nats.issuer_account).toBeUndefined();
    expect(user.nats.pub.allow).toEqual(['users.TOKENUSER.>']);
    expect(user.exp - user.iat).toBe(600);
  });

  it('a request replayed (same jti, same server, same user nkey) is dropped', async () => {
    const r = request({
      nats: { connect_opts: { user: 'TOKENUSER', pass: 'pw' } },
    });
    const jwt = signClaims(r.claims, fakeServer);
    expect(await send(jwt)).toBeDefined();
    const before = callout.responder.stats();
    expect(await send(jwt)).toBeUndefined();
    expect(callout.responder.stats().invalid).toBe(before.invalid + 1);
  });

  const cases: [
    string,
    () => { payload: Uint8Array | string; seal?: boolean; header?: string },
    'invalid' | 'xkeyMismatch',
  ][] = [
    [
      'signed by an account key, not a server key',
      () => {
        const a = createAccount();
        const r = request({
          claims: { iss: a.getPublicKey() },
          nats: {
            server_id: { id: a.getPublicKey(), xkey: fakeXkey.getPublicKey() },
          },
        });
        return { payload: signClaims(r.claims, a) };
      },
      'invalid',
    ],
    [
      'signed by another server than iss',
      () => ({ payload: signClaims(request().claims, createServer()) }),
      'invalid',
    ],
    [
      'iss is not server_id.id',
      () => ({
        payload: signClaims(
          request({
            nats: {
              server_id: {
                id: createServer().getPublicKey(),
                xkey: fakeXkey.getPublicKey(),
              },
            },
          }).claims,
          fakeServer,
        ),
      }),
      'invalid',
    ],
    [
      'wrong aud',
      () => ({
        payload: signClaims(
          request({ claims: { aud: 'NATS' } }).claims,
          fakeServer,
        ),
      }),
      'invalid',
    ],
    [
      'wrong sub (another issuer)',
      () => ({
        payload: signClaims(
          request({ claims: { sub: createAccount().getPublicKey() } }).claims,
          fakeServer,
        ),
      }),
      'invalid',
    ],
    [
      'expired',
      () => {
        const past = Math.floor(Date.now() / 1000) - 60;
        return {
          payload: signClaims(
            request({ claims: { iat: past, exp: past + 2 } }).claims,
            fakeServer,
          ),
        };
      },
      'invalid',
    ],
    [
      'wrong type',
      () => ({
        payload: signClaims(
          request({ nats: { type: 'authorization_response' } }).claims,
          fakeServer,
        ),
      }),
      'invalid',
    ],
    [
      'wrong version',
      () => ({
        payload: signClaims(
          request({ nats: { version: 1 } }).claims,
          fakeServer,
        ),
      }),
      'invalid',
    ],
    [
      'user_nkey not a user key',
      () => ({
        payload: signClaims(
          request({ nats: { user_nkey: createAccount().getPublicKey() } })
            .claims,
          fakeServer,
        ),
      }),
      'invalid',
    ],
    [
      'a replayed response (an authorization_response JWT)',
      () => {
        const r = request();
        return {
          payload: signClaims(
            {
              aud: fakeServer.getPublicKey(),
              sub: r.userNkey,
              iat: r.claims.iat,
              iss: setup.issuerPublicKey,
              nats: { jwt: 'x', type: 'authorization_response', version: 2 },
            },
            createAccount(),
          ),
        };
      },
      'invalid',
    ],
    [
      'malformed JSON',
      () => ({
        payload: `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${Buffer.from('{"iss":').toString('base64url')}.${Buffer.alloc(64).toString('base64url')}`,
      }),
      'invalid',
    ],
    [
      'a header of another algorithm',
      () => ({
        payload: signClaims(request().claims, fakeServer, {
          typ: 'JWT',
          alg: 'none',
        }),
      }),
      'invalid',
    ],
    ['not a JWT at all', () => ({ payload: 'hello' }), 'invalid'],
    [
      'a huge payload (512 KiB)',
      () => ({ payload: new Uint8Array(1 << 19).fill(65), seal: false }),
      'invalid',
    ],
    [
      'the header xkey is not the signed one',
      () => {
        const other = createCurve();
        const r = request();
        return {
          payload: other.seal(
            new TextEncoder().encode(signClaims(r.claims, fakeServer)),
            setup.xkey!.publicKey,
          ),
          seal: false,
          header: other.getPublicKey(),
        };
      },
      'invalid',
    ],
    [
      'sealed for another xkey',
      () => ({
        payload: fakeXkey.seal(
          new TextEncoder().encode(signClaims(request().claims, fakeServer)),
          createCurve().getPublicKey(),
        ),
        seal: false,
      }),
      'xkeyMismatch',
    ],
    [
      'not sealed although the xkey is on',
      () => ({
        payload: signClaims(request().claims, fakeServer),
        seal: false,
      }),
      'xkeyMismatch',
    ],
    [
      'random bytes behind xkv1',
      () => ({
        payload: Buffer.concat([Buffer.from('xkv1'), Buffer.alloc(100, 7)]),
        seal: false,
      }),
      'xkeyMismatch',
    ],
  ];

  it.each(cases)(
    '%s: dropped unanswered, counted, nothing signed',
    async (_label, make, counter) => {
      const before = callout.responder.stats();
      const { payload, ...opts } = make();
      expect(await send(payload, opts)).toBeUndefined();
      // Counted once handled (on a busy machine that may come after the 250 ms the reply was awaited).
      await vi.waitFor(() =>
        expect(callout.responder.stats()[counter]).toBe(before[counter] + 1),
      );
      const after = callout.responder.stats();
      expect(after.allowed).toBe(before.allowed);
      expect(after.denied).toBe(before.denied);
    },
  );

  it('a random fuzz of 300 mutated requests: no crash, nothing allowed, every one counted', async () => {
    const before = callout.responder.stats();
    const base = signClaims(request().claims, fakeServer);
    let seed = 12345;
    const rnd = () =>
      (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const replies = await Promise.all(
      Array.from({ length: 300 }, () => {
        const chars = base.split('');
        const n = 1 + Math.floor(rnd() * 4);
        for (let i = 0; i < n; i++) {
          chars[Math.floor(rnd() * chars.length)] = 'ABCxyz019-_.{"'[
            Math.floor(rnd() * 14)
          ];
        }
        return send(chars.join(''), { timeout: 1500 });
      }),
    );
    await vi.waitFor(() =>
      expect(callout.responder.stats().received - before.received).toBe(300),
    );
    const after = callout.responder.stats();
    expect(after.allowed).toBe(before.allowed);
    // A mutation that keeps the signature valid is impossible; any answered one is a deny (the password is wrong).
    expect(replies.filter((r) => r !== undefined).length).toBe(
      after.denied - before.denied,
    );
  });
});
