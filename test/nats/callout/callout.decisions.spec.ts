import 'reflect-metadata';
import { sign } from 'node:crypto';
import {
  createAccount,
  createCurve,
  createServer,
  fromPublic,
} from '@nats-io/nkeys';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NatsCalloutResponder,
  type NatsAuthDecision,
} from '../../../lib/index.js';
import { ConfigProblems } from '../../../lib/config/config-problems.js';
import { normalizeCalloutOptions } from '../../../lib/nats/callout/callout.options.js';
import { generateNkey } from '../../../lib/nats/nkey.js';
import { seedPrivateKey } from '../../support/nats-raw-connect.js';

// The responder in-process, with real keys and real signatures: a decision made synchronously is answered
// synchronously, an asynchronous one through a promise, and an exception (thrown or rejected) is a deny with a
// generic reason that never carries the exception's text.

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const b64 = (v: unknown) =>
  Buffer.from(JSON.stringify(v)).toString('base64url');
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<
    string,
    any
  >;

const ALLOW: NatsAuthDecision = {
  allow: true,
  name: 'orders',
  tags: ['team:blue'],
  permissions: { pub: { allow: ['users.orders.>'] } },
};

class SyncAllow {
  authorize(): NatsAuthDecision {
    return ALLOW;
  }
}
class AsyncAllow {
  async authorize(): Promise<NatsAuthDecision> {
    await new Promise((r) => setTimeout(r, 5));
    return ALLOW;
  }
}
class SyncThrow {
  authorize(): NatsAuthDecision {
    throw new Error('secret detail SYNC');
  }
}
class AsyncReject {
  async authorize(): Promise<NatsAuthDecision> {
    await Promise.resolve();
    throw new Error('secret detail ASYNC');
  }
}

async function responderWith(authorizer: unknown, xkey: boolean) {
  const issuer = createAccount();
  const server = createServer();
  const responderXkey = createCurve();
  const serverXkey = createCurve();
  const lines: string[] = [];
  const logger = {
    log: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(m),
    error: (m: string) => lines.push(m),
  };
  // The responder logs through Nest's Logger: every line is kept here.
  Logger.overrideLogger(logger);
  const problems = new ConfigProblems();
  const options = normalizeCalloutOptions(
    {
      servers: 'nats://127.0.0.1:4222',
      user: 'u',
      pass: 'p',
      issuerKey: text(issuer.getSeed()),
      account: 'APP',
      authorizer,
      ...(xkey ? { xkey: text(responderXkey.getSeed()) } : {}),
    },
    problems,
    { production: false, logger },
    {},
  );
  if (!options) throw new Error(problems.list.map((p) => p.message).join('; '));
  const responder = new NatsCalloutResponder(options);
  await responder.prepare();
  const serverKey = seedPrivateKey(text(server.getSeed()));
  let n = 0;
  const request = () => {
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      aud: 'nats-authorization-request',
      exp: iat + 60,
      iat,
      iss: server.getPublicKey(),
      jti: `J${n++}`,
      sub: issuer.getPublicKey(),
      nats: {
        server_id: {
          name: 'test',
          host: '127.0.0.1',
          id: server.getPublicKey(),
          version: '2.10.27',
          ...(xkey ? { xkey: serverXkey.getPublicKey() } : {}),
        },
        user_nkey: generateNkey('user').publicKey,
        client_info: { host: '127.0.0.1', id: n, kind: 'Client' },
        connect_opts: { auth_token: 'TOKEN', lang: 'test', protocol: 1 },
        type: 'authorization_request',
        version: 2,
      },
    };
    const input = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64(claims)}`;
    const jwt = `${input}.${sign(null, Buffer.from(input), serverKey).toString('base64url')}`;
    const bytes = new TextEncoder().encode(jwt);
    return {
      bytes: xkey
        ? serverXkey.seal(bytes, responderXkey.getPublicKey())
        : bytes,
      userNkey: claims.nats.user_nkey,
    };
  };
  /** The response JWT's claims, after checking its signature by the issuer (and opening it with xkey). */
  const response = (reply: Uint8Array | undefined) => {
    expect(reply).toBeInstanceOf(Uint8Array);
    const jwt = text(
      xkey ? serverXkey.open(reply!, responderXkey.getPublicKey())! : reply!,
    );
    const [h, p, s] = jwt.split('.');
    expect(
      fromPublic(issuer.getPublicKey()).verify(
        new TextEncoder().encode(`${h}.${p}`),
        Buffer.from(s, 'base64url'),
      ),
    ).toBe(true);
    return claimsOf(jwt);
  };
  const header = xkey ? serverXkey.getPublicKey() : undefined;
  return { responder, request, response, header, lines, issuer };
}

describe.each([
  { xkey: false, label: 'xkey off' },
  { xkey: true, label: 'xkey on' },
])('NatsCalloutResponder.answer, $label', ({ xkey }) => {
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('answers a synchronous decision synchronously, with the decided user JWT', async () => {
    const r = await responderWith(SyncAllow, xkey);
    const req = r.request();
    const reply = r.responder.answer(req.bytes, r.header);
    expect(reply).not.toBeInstanceOf(Promise);
    const claims = r.response(reply as Uint8Array);
    expect(claims.aud).toMatch(/^N/);
    expect(claims.sub).toBe(req.userNkey);
    expect(claims.nats.type).toBe('authorization_response');
    const user = claimsOf(claims.nats.jwt);
    expect(user.name).toBe('orders');
    expect(user.aud).toBe('APP');
    expect(user.nats.tags).toEqual(['team:blue']);
    expect(user.nats.pub).toEqual({ allow: ['users.orders.>'] });
  });

  it('answers an asynchronous decision through a promise', async () => {
    const r = await responderWith(AsyncAllow, xkey);
    const req = r.request();
    const reply = r.responder.answer(req.bytes, r.header);
    expect(reply).toBeInstanceOf(Promise);
    const claims = r.response(await reply);
    expect(claimsOf(claims.nats.jwt).name).toBe('orders');
  });

  it.each([
    { authorizer: SyncThrow, secret: 'SYNC', promise: false },
    { authorizer: AsyncReject, secret: 'ASYNC', promise: true },
  ])(
    'denies with a generic reason when the authorizer throws ($secret), and logs only the error kind',
    async ({ authorizer, secret, promise }) => {
      const r = await responderWith(authorizer, xkey);
      const pending = r.responder.answer(r.request().bytes, r.header);
      expect(pending instanceof Promise).toBe(promise);
      const claims = r.response(await pending);
      expect(claims.nats.error).toBe('not authorized');
      expect(claims.nats.jwt).toBeUndefined();
      expect(r.lines.join('\n')).toMatch(/the authorizer threw Error/);
      expect(r.lines.join('\n')).not.toContain(secret);
      expect(r.responder.stats().denied).toBe(1);
    },
  );
});
