import { sign } from 'node:crypto';
import { createCurve, createServer, fromPublic } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import type { NatsAuthDecision, NatsCalloutStats } from '../../../lib/index.js';
import { ConfigProblems } from '../../../lib/config/config-problems.js';
import type { CalloutDecide } from '../../../lib/nats/interfaces/nats-callout-responder.interface.js';
import { CalloutProtocol } from '../../../lib/nats/callout/callout-protocol.js';
import { DeadlineSignals } from '../../../lib/nats/callout/callout-queue.js';
import { normalizeCalloutOptions } from '../../../lib/nats/callout/callout.options.js';
import { isSealed } from '../../../lib/nats/callout/xkey.js';
import { generateNkey } from '../../../lib/nats/nkey.js';
import { configModeSetup } from '../../support/nats-callout.js';
import { seedPrivateKey } from '../../support/nats-raw-connect.js';

// The callout protocol without any server: a request's bytes in (signed by a real server key, sealed with real curve
// keys when xkey is on), the reply's bytes out, checked by signature. The counters and the log lines are the sinks'.

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

/** A protocol with real keys, its sinks, and a server that makes requests and reads replies. */
function protocolWith(decide: CalloutDecide, xkey = false) {
  const setup = configModeSetup({ xkey });
  const problems = new ConfigProblems();
  const options = normalizeCalloutOptions(
    {
      servers: 'nats://127.0.0.1:4222',
      user: setup.calloutUser,
      pass: setup.calloutPass,
      issuerKey: setup.issuerSeed,
      account: 'APP',
      authorizer: class {
        authorize = decide;
      },
      ...(setup.xkey ? { xkey: setup.xkey.seed } : {}),
    },
    problems,
    { production: false, logger: console },
    {},
  );
  if (!options) throw new Error(problems.list.map((p) => p.message).join('; '));
  const counters: NatsCalloutStats = {
    received: 0,
    allowed: 0,
    denied: 0,
    invalid: 0,
    xkeyMismatch: 0,
    shed: 0,
    overloaded: 0,
    inFlight: 0,
  };
  const lines: string[] = [];
  const logger = {
    log: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(m),
    error: (m: string) => lines.push(m),
  };
  const signals = new DeadlineSignals();
  const protocol = new CalloutProtocol(
    options,
    decide,
    { counters, logger, refusals: { admit: () => true } },
    (deadline) => signals.at(deadline),
  );
  const server = createServer();
  const serverKey = seedPrivateKey(text(server.getSeed()));
  const serverXkey = createCurve();
  const header = setup.xkey ? serverXkey.getPublicKey() : undefined;
  let n = 0;
  /** A signed authorization request, sealed for the responder when xkey is on (or `seal` says so). */
  const request = (seal = xkey) => {
    const iat = Math.floor(Date.now() / 1000);
    const userNkey = generateNkey('user').publicKey;
    const claims = {
      aud: 'nats-authorization-request',
      exp: iat + 60,
      iat,
      iss: server.getPublicKey(),
      jti: `J${n++}`,
      sub: setup.issuerPublicKey,
      nats: {
        server_id: {
          name: 'test',
          host: '127.0.0.1',
          id: server.getPublicKey(),
          version: '2.10.27',
          ...(header ? { xkey: header } : {}),
        },
        user_nkey: userNkey,
        client_info: { host: '127.0.0.1', id: n, kind: 'Client' },
        connect_opts: { auth_token: 'TOKEN', lang: 'test', protocol: 1 },
        type: 'authorization_request',
        version: 2,
      },
    };
    const input = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64(claims)}`;
    const jwt = new TextEncoder().encode(
      `${input}.${sign(null, Buffer.from(input), serverKey).toString('base64url')}`,
    );
    return {
      bytes: seal ? serverXkey.seal(jwt, setup.xkey!.publicKey) : jwt,
      userNkey,
    };
  };
  /** The response's claims, after checking that the issuer signed it (and opening it when it is sealed). */
  const response = (reply: unknown) => {
    expect(reply).toBeInstanceOf(Uint8Array);
    const bytes = reply as Uint8Array;
    expect(isSealed(bytes)).toBe(xkey);
    const jwt = text(
      xkey ? serverXkey.open(bytes, setup.xkey!.publicKey)! : bytes,
    );
    const [h, p, s] = jwt.split('.');
    expect(
      fromPublic(setup.issuerPublicKey).verify(
        new TextEncoder().encode(`${h}.${p}`),
        Buffer.from(s, 'base64url'),
      ),
    ).toBe(true);
    return claimsOf(jwt);
  };
  return {
    protocol,
    options,
    counters,
    lines,
    header,
    request,
    response,
    server,
  };
}

describe.each([
  { xkey: false, label: 'xkey off' },
  { xkey: true, label: 'xkey on' },
])('CalloutProtocol.answer without a server, $label', ({ xkey }) => {
  it('allows: a synchronous decision is answered synchronously with the signed response and the decided user JWT', () => {
    const p = protocolWith(() => ALLOW, xkey);
    const req = p.request();
    const reply = p.protocol.answer(req.bytes, p.header);
    // Bytes at once: no promise between the request and its reply.
    expect(reply).toBeInstanceOf(Uint8Array);
    expect(reply).not.toBeInstanceOf(Promise);
    const claims = p.response(reply);
    expect(claims.aud).toBe(p.server.getPublicKey());
    expect(claims.sub).toBe(req.userNkey);
    expect(claims.nats).toMatchObject({
      type: 'authorization_response',
      version: 2,
    });
    expect(claims.nats.error).toBeUndefined();
    const user = claimsOf(claims.nats.jwt);
    expect(user.sub).toBe(req.userNkey);
    expect(user.name).toBe('orders');
    expect(user.aud).toBe('APP');
    expect(user.nats.tags).toEqual(['team:blue']);
    expect(user.nats.pub).toEqual({ allow: ['users.orders.>'] });
    expect(p.counters).toMatchObject({ allowed: 1, denied: 0, invalid: 0 });
    expect(p.lines).toEqual([]);
  });

  it('an asynchronous decision gives a promise of the same reply', async () => {
    const p = protocolWith(async () => {
      await new Promise((r) => setTimeout(r, 5));
      return ALLOW;
    }, xkey);
    const reply = p.protocol.answer(p.request().bytes, p.header);
    expect(reply).toBeInstanceOf(Promise);
    const claims = p.response(await reply);
    expect(claimsOf(claims.nats.jwt).name).toBe('orders');
    expect(p.counters.allowed).toBe(1);
  });

  it('denies: the reason goes into the signed response and the log, with no user JWT', () => {
    const p = protocolWith(
      () => ({ allow: false, reason: 'not this one' }),
      xkey,
    );
    const req = p.request();
    const claims = p.response(p.protocol.answer(req.bytes, p.header));
    expect(claims.sub).toBe(req.userNkey);
    expect(claims.nats.error).toBe('not this one');
    expect(claims.nats.jwt).toBeUndefined();
    expect(p.counters).toMatchObject({ allowed: 0, denied: 1 });
    expect(p.lines).toEqual([
      expect.stringMatching(
        /^NATS auth callout: client 1 \(127\.0\.0\.1\) on test denied: not this one$/,
      ),
    ]);
  });

  it('an authorizer that throws is a deny with a generic reason, its message never logged', () => {
    const p = protocolWith(() => {
      throw new TypeError('secret detail');
    }, xkey);
    const claims = p.response(p.protocol.answer(p.request().bytes, p.header));
    expect(claims.nats.error).toBe('not authorized');
    expect(p.lines.join('\n')).toMatch(/the authorizer threw TypeError/);
    expect(p.lines.join('\n')).not.toContain('secret detail');
    expect(p.counters.denied).toBe(1);
  });

  it('invalid: a request whose signature does not verify is dropped unanswered, undecided, and counted', () => {
    let decided = 0;
    const p = protocolWith(() => {
      decided++;
      return ALLOW;
    }, false);
    const bytes = p.request().bytes;
    bytes[bytes.length - 2] = bytes[bytes.length - 2] === 65 ? 66 : 65;
    expect(p.protocol.answer(bytes, p.header)).toBeUndefined();
    expect(decided).toBe(0);
    expect(p.counters).toMatchObject({ invalid: 1, allowed: 0, denied: 0 });
    expect(p.lines).toEqual([
      'NATS auth callout: request dropped: the signature does not verify with iss',
    ]);
  });

  it('invalid: a request without a reply subject is dropped', () => {
    const p = protocolWith(() => ALLOW, xkey);
    expect(
      p.protocol.answer(p.request().bytes, p.header, Date.now(), false),
    ).toBeUndefined();
    expect(p.counters.invalid).toBe(1);
    expect(p.lines).toEqual([
      'NATS auth callout: request dropped: no reply subject',
    ]);
  });

  it('replay: the same request a second time is dropped, and decided only once', () => {
    let decided = 0;
    const p = protocolWith(() => {
      decided++;
      return ALLOW;
    }, xkey);
    const req = p.request();
    p.response(p.protocol.answer(req.bytes, p.header));
    expect(p.protocol.answer(req.bytes, p.header)).toBeUndefined();
    expect(decided).toBe(1);
    expect(p.counters).toMatchObject({ allowed: 1, invalid: 1 });
    expect(p.lines).toEqual([
      'NATS auth callout: request dropped: replayed (seen before)',
    ]);
  });

  it('past the deadline: a decision made after it is not answered (shed), even a synchronous one', () => {
    const p = protocolWith(() => ALLOW, xkey);
    const receivedAt = Date.now() - p.options.deadlineMs - 1;
    expect(
      p.protocol.answer(p.request().bytes, p.header, receivedAt),
    ).toBeUndefined();
    expect(p.counters).toMatchObject({ shed: 1, allowed: 0, denied: 0 });
    expect(p.lines).toEqual([
      expect.stringMatching(
        /^NATS auth callout: decision for client 1 .* came after the deadline; no reply$/,
      ),
    ]);
  });

  it('past the deadline: the signal given to the authorizer aborts, and a decision after it is not answered', async () => {
    let aborted = false;
    const p = protocolWith(
      (_request, signal) =>
        new Promise<NatsAuthDecision>((resolve) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            setTimeout(() => resolve(ALLOW), 5);
          }),
        ),
      xkey,
    );
    // Received long enough ago that 30 ms are left.
    const receivedAt = Date.now() - p.options.deadlineMs + 30;
    const reply = p.protocol.answer(p.request().bytes, p.header, receivedAt);
    expect(reply).toBeInstanceOf(Promise);
    expect(await reply).toBeUndefined();
    expect(aborted).toBe(true);
    expect(p.counters).toMatchObject({ shed: 1, allowed: 0 });
  });
});

describe('CalloutProtocol.answer without a server: the xkey', () => {
  it('a sealed request is answered with a reply sealed for the server xkey the request signed', () => {
    const p = protocolWith(() => ALLOW, true);
    const reply = p.protocol.answer(p.request().bytes, p.header);
    expect(isSealed(reply as Uint8Array)).toBe(true);
    expect(text(reply as Uint8Array)).not.toMatch(/^eyJ/);
    expect(claimsOf(p.response(reply).nats.jwt).name).toBe('orders');
  });

  it('a request that is not sealed while xkey is on is dropped as an xkey mismatch, said once at the first', () => {
    const p = protocolWith(() => ALLOW, true);
    expect(p.protocol.answer(p.request(false).bytes, p.header)).toBeUndefined();
    expect(p.counters).toMatchObject({ xkeyMismatch: 1, invalid: 0 });
    expect(p.lines).toEqual([
      expect.stringMatching(
        /^NATS auth callout: xkey mismatch: the request is not encrypted but callout\.xkey is set: .* Every client will time out until both sides agree\.$/,
      ),
    ]);
  });

  it('a sealed request while xkey is off is dropped as an xkey mismatch', () => {
    const p = protocolWith(() => ALLOW, false);
    const sealedFor = createCurve();
    const bytes = createCurve().seal(
      p.request(false).bytes,
      sealedFor.getPublicKey(),
    );
    expect(p.protocol.answer(bytes, undefined)).toBeUndefined();
    expect(p.counters.xkeyMismatch).toBe(1);
  });
});
