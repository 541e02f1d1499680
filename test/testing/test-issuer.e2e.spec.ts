import 'reflect-metadata';
import { execFile, execFileSync } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { Metadata } from '@grpc/grpc-js';
import { headers } from '@nats-io/transport-node';
import {
  Controller,
  Get,
  type INestApplication,
  Module,
  UseGuards,
} from '@nestjs/common';
import {
  type ClientGrpc,
  ClientProxyFactory,
  type ClientProxy,
  MessagePattern,
  type MicroserviceOptions,
  NatsRecordBuilder,
  Payload,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { firstValueFrom, type Observable } from 'rxjs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerModule,
  ServiceClaims,
  ServiceTokenGuard,
  ServiceTokenVerifier,
  withServiceToken,
} from '../../lib/index.js';
import {
  BAD_TOKEN_KINDS,
  TestIssuer,
  testIssuersEnv,
  trustTestIssuers,
} from '../../lib/testing/index.js';
import { findExecutable, freePort } from '../support/broker-process.js';
import {
  type RunningNatsServer,
  startNatsServer,
} from '../support/nats-server.js';
import { startServiceApp } from '../support/service-token-apps.js';
import {
  BILLING_PROTO,
  GrpcReceiverController,
  handledFor,
  startMicroservice,
} from '../support/service-token-transports.js';

const execFileAsync = promisify(execFile);

/** Handler runs, by request id: a refused call must leave none. */
const handled: string[] = [];

@UseGuards(ServiceTokenGuard)
@Controller('internal')
class InvoicesController {
  @Get('invoices')
  list(@ServiceClaims('sub') caller: string): { caller: string } {
    handled.push(`http:${caller}`);
    return { caller };
  }

  @MessagePattern('invoices.list')
  listOverNats(
    @Payload() data: { id: string },
    @ServiceClaims('sub') caller: string,
  ): { id: string; caller: string } {
    handled.push(`nats:${data.id}`);
    return { id: data.id, caller };
  }
}

// The application as it ships: it trusts its real neighbour, which the tests replace with a test issuer.
@Module({
  imports: [
    JwtIssuerModule.forRoot({
      ignoreEnvVars: true,
      service: {
        expectedAudience: 'invoices',
        trustedIssuers: [
          {
            issuer: 'https://billing.internal',
            jwksUri: 'https://billing.internal/.well-known/jwks.json',
          },
        ],
      },
    }),
  ],
  controllers: [InvoicesController],
})
class InvoicesModule {}

describe('a guarded HTTP route and NATS handler, tested with nest-jwt-issuer/testing', () => {
  let billing: TestIssuer;
  let nats: RunningNatsServer;
  let app: INestApplication;
  let url: string;
  let client: ClientProxy;

  beforeAll(async () => {
    billing = await TestIssuer.start({ name: 'billing', audience: 'invoices' });
    nats = await startNatsServer('host: 127.0.0.1\nport: -1\n');
    const moduleRef = await trustTestIssuers(
      Test.createTestingModule({ imports: [InvoicesModule] }),
      [billing],
      { jwksCooldown: 0 },
    ).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice<MicroserviceOptions>({
      transport: Transport.NATS,
      options: { servers: [nats.url] },
    });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
    client = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: { servers: [nats.url] },
    });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
    await billing?.close();
    await nats?.stop();
  });

  const get = (authorization?: string) =>
    fetch(`${url}/internal/invoices`, {
      headers: authorization ? { authorization } : {},
    });
  const send = async (id: string, token?: string) =>
    firstValueFrom(
      client.send(
        'invoices.list',
        new NatsRecordBuilder({ id })
          .setHeaders(await withServiceToken(billing.caller(token), headers()))
          .build(),
      ),
    );

  it('lets a valid token through over HTTP (200), the claims reaching the handler', async () => {
    const res = await fetch(`${url}/internal/invoices`, {
      headers: billing.headers(),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ caller: 'billing' });
  });

  it.each(BAD_TOKEN_KINDS)(
    'refuses the %s token over HTTP with 401, the handler not run',
    async (kind) => {
      const before = handled.length;
      const res = await get(billing.authorization(billing.badToken(kind)));
      expect(res.status).toBe(401);
      expect(handled.length).toBe(before);
    },
  );

  it('answers a NATS message with a valid token, and refuses each bad token with 401 without running the handler', async () => {
    await expect(send('ok')).resolves.toEqual({ id: 'ok', caller: 'billing' });
    for (const kind of BAD_TOKEN_KINDS) {
      await expect(send(kind, billing.badToken(kind))).rejects.toEqual({
        statusCode: 401,
        message: 'Unauthorized',
      });
    }
    expect(handled.filter((h) => h.startsWith('nats:'))).toEqual(['nats:ok']);
  });

  it('works with supertest: .set(billing.headers()) with a valid token (200) and a bad one (401)', async () => {
    await request(app.getHttpServer())
      .get('/internal/invoices')
      .set(billing.headers())
      .expect(200, { caller: 'billing' });
    await request(app.getHttpServer())
      .get('/internal/invoices')
      .set(billing.headers(billing.badToken('unknownKid')))
      .expect(401);
  });

  it('mints tokens with any claims: added, changed, or left out with undefined', async () => {
    const token = billing.token({ scope: 'invoices:read', jti: undefined });
    const claims = JSON.parse(
      Buffer.from(token.split('.')[1], 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(claims).toMatchObject({
      source: 'microservice',
      iss: billing.issuer,
      sub: 'billing',
      aud: 'invoices',
      scope: 'invoices:read',
    });
    expect(claims).not.toHaveProperty('jti');
    expect(claims.exp).toBe((claims.iat as number) + 300);
    expect((await get(billing.authorization(token))).status).toBe(200);
    expect((await get(billing.authorization({ sub: 'orders' }))).status).toBe(
      200,
    );
  });

  it('rotates: the new key is fetched and accepted; with retirePrevious, the old key stops being published', async () => {
    const before = billing.kid;
    const old = billing.token();
    const kid = await billing.rotate();
    expect(kid).not.toBe(before);
    expect(decodeProtectedHeader(billing.token()).kid).toBe(kid);
    expect((await get(billing.authorization())).status).toBe(200);
    expect((await get(billing.authorization(old))).status).toBe(200);
    expect(billing.jwks().keys.map((k) => k.kid)).toEqual([kid, before]);
    await billing.rotate({ retirePrevious: true });
    expect(billing.jwks().keys).toHaveLength(1);
    expect((await get(billing.authorization())).status).toBe(200);
  });

  it('goes down (the JWKS unreachable: a token with a new key is refused) and comes back (accepted again)', async () => {
    await billing.down();
    expect(billing.serving).toBe(false);
    await expect(fetch(billing.jwksUri)).rejects.toThrow();
    const known = billing.token();
    await billing.rotate();
    // Known keys stay in use; the new one cannot be fetched.
    expect((await get(billing.authorization(known))).status).toBe(200);
    expect((await get(billing.authorization())).status).toBe(401);
    await billing.up();
    const until = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < until) {
      status = (await get(billing.authorization())).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});

interface Billing {
  whoAmI(
    data: { note: string },
    metadata: Metadata,
  ): Observable<{ issuer: string; subject: string; note: string }>;
}

describe('a guarded gRPC method, the token in the call metadata (withServiceToken + caller())', () => {
  let billing: TestIssuer;
  let server: Awaited<ReturnType<typeof startMicroservice>>;
  let client: ClientGrpc & { close(): unknown };
  let grpc: Billing;

  beforeAll(async () => {
    billing = await TestIssuer.start({ name: 'billing', algorithm: 'RS256' });
    const options = {
      package: 'billing',
      protoPath: BILLING_PROTO,
      url: `127.0.0.1:${await freePort()}`,
    };
    server = await startMicroservice(
      { trustedIssuers: [billing.trustedIssuer] },
      { transport: Transport.GRPC, options },
      [GrpcReceiverController],
    );
    client = ClientProxyFactory.create({
      transport: Transport.GRPC,
      options,
    }) as unknown as ClientGrpc & { close(): unknown };
    grpc = client.getService<Billing>('Billing');
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
    await billing?.close();
  });

  it('handles a call with a valid token, refuses each bad token (UNAUTHENTICATED) without running the method', async () => {
    const ok = await firstValueFrom(
      grpc.whoAmI(
        { note: 'testing-ok' },
        await withServiceToken(billing.caller(), new Metadata()),
      ),
    );
    expect(ok).toEqual({
      issuer: billing.issuer,
      subject: 'billing',
      note: 'testing-ok',
    });
    for (const kind of BAD_TOKEN_KINDS.filter((k) => k !== 'wrongAudience')) {
      const note = `testing-${kind}`;
      await expect(
        firstValueFrom(
          grpc.whoAmI(
            { note },
            await withServiceToken(
              billing.caller(billing.badToken(kind)),
              new Metadata(),
            ),
          ),
        ),
        kind,
      ).rejects.toMatchObject({ code: 16 });
      expect(handledFor(note)).toHaveLength(0);
    }
  });
});

describe('the override helpers with an application configured by forRootAsync', () => {
  it('merge the patch over the factory options, section by section', async () => {
    const billing = await TestIssuer.start({ name: 'billing', audience: 'x' });
    @Module({
      imports: [
        JwtIssuerModule.forRootAsync({
          useFactory: async () => ({
            ignoreEnvVars: true,
            service: {
              expectedAudience: 'x',
              trustedIssuers: [
                {
                  issuer: 'https://a.internal',
                  jwksUri: 'https://a.internal/j',
                },
              ],
            },
          }),
        }),
      ],
      controllers: [InvoicesController],
    })
    class AsyncModule {}
    const moduleRef = await trustTestIssuers(
      Test.createTestingModule({ imports: [AsyncModule] }),
      [billing],
    ).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const url = `${await app.getUrl()}/internal/invoices`;
      expect((await fetch(url, { headers: billing.headers() })).status).toBe(
        200,
      );
      // The application's own expectedAudience still applies.
      expect(
        (await fetch(url, { headers: billing.headers({ aud: 'y' }) })).status,
      ).toBe(401);
    } finally {
      await app.close();
      await billing.close();
    }
  });
});

describe('the test issuer on its own', () => {
  it('gives the trustedIssuers entry and the JWT_ISSUER_SERVICE_TRUSTED_ISSUERS value, and serves its documents', async () => {
    const a = await TestIssuer.start({ name: 'a', algorithm: 'EdDSA' });
    const b = await TestIssuer.start({ name: 'b' });
    try {
      expect(a.trustedIssuer).toEqual({
        issuer: a.issuer,
        jwksUri: `${a.issuer}/.well-known/jwks.json`,
        algorithms: ['EdDSA'],
      });
      expect(a.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(
        JSON.parse(testIssuersEnv(a, b).JWT_ISSUER_SERVICE_TRUSTED_ISSUERS),
      ).toEqual([a.trustedIssuer, b.trustedIssuer]);
      expect(a.env).toEqual(testIssuersEnv(a));
      const res = await fetch(a.jwksUri);
      expect(res.headers.get('cache-control')).toBe(
        'max-age=3600, must-revalidate',
      );
      expect(await res.json()).toEqual(a.jwks());
      expect(a.jwks().keys[0]).toMatchObject({
        kty: 'OKP',
        alg: 'EdDSA',
        use: 'sig',
        kid: a.kid,
      });
      expect(a.kid).toMatch(/^s-[\w-]{43}$/);
      const oidc = await (
        await fetch(`${a.issuer}/.well-known/openid-configuration`)
      ).json();
      expect(oidc).toEqual({
        issuer: a.issuer,
        jwks_uri: a.jwksUri,
        id_token_signing_alg_values_supported: ['EdDSA'],
      });
      expect(a.requests()).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
    await a.close(); // twice is fine
    expect(() => a.token()).toThrow(/closed/);
    await expect(fetch(a.jwksUri)).rejects.toThrow();
  });

  it('hands its keys over locally (serve: false) to a ServiceTokenVerifier, no HTTP involved', async () => {
    const local = await TestIssuer.start({ name: 'local', serve: false });
    try {
      expect(local.issuer).toBe('https://local.issuer.invalid');
      expect(() => local.trustedIssuer).toThrow(/serve: false/);
      const verifier = new ServiceTokenVerifier({
        trustedIssuers: [],
        localKeys: [local.keySource],
      });
      await expect(verifier.verify(local.token())).resolves.toMatchObject({
        sub: 'local',
        source: 'microservice',
      });
      for (const kind of BAD_TOKEN_KINDS.filter((k) => k !== 'wrongAudience')) {
        await expect(
          verifier.verify(local.badToken(kind)),
          kind,
        ).rejects.toMatchObject({
          code: expect.stringMatching(/^ERR_JWT_ISSUER_/),
        });
      }
      await local.rotate();
      await expect(verifier.verify(local.token())).resolves.toBeTruthy();
    } finally {
      await local.close();
    }
  });

  it('each bad token is refused for the reason docs/testing.md gives', async () => {
    const t = await TestIssuer.start({ serve: false, audience: 'app' });
    try {
      const verifier = new ServiceTokenVerifier({
        trustedIssuers: [],
        localKeys: [t.keySource],
        expectedAudience: ['app'],
      });
      const codes: Record<string, string> = {};
      for (const kind of BAD_TOKEN_KINDS) {
        codes[kind] = await verifier.verify(t.badToken(kind)).then(
          () => 'accepted',
          (e: { code: string }) => e.code,
        );
      }
      expect(codes).toEqual({
        expired: 'ERR_JWT_ISSUER_TOKEN_EXPIRED',
        notYetValid: 'ERR_JWT_ISSUER_TOKEN_NOT_YET_VALID',
        wrongIssuer: 'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
        wrongAudience: 'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
        noSource: 'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
        tamperedSignature: 'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
        unknownKid: 'ERR_JWT_ISSUER_TOKEN_KEY_UNKNOWN',
        algNone: 'ERR_JWT_ISSUER_TOKEN_HEADER_REFUSED',
      });
    } finally {
      await t.close();
    }
  });

  it('refuses an unknown bad token kind and invalid claims with INVALID_ARGUMENT', async () => {
    const t = await TestIssuer.start({ serve: false });
    try {
      expect(() => t.badToken('nope' as never)).toThrow(
        /unknown bad token kind 'nope'/,
      );
      expect(() => t.token([] as never)).toThrow(/plain object/);
      expect(() => t.token({}, { validitySeconds: 0 })).toThrow(
        /positive integer/,
      );
      await expect(TestIssuer.start({ name: '' })).rejects.toThrow(
        /service.name/,
      );
    } finally {
      await t.close();
    }
  });
});

describe('its tokens are standard JWS: accepted by jose and by PyJWT', () => {
  const issuers: TestIssuer[] = [];
  afterAll(async () => {
    for (const i of issuers) await i.close();
  });

  it.each(['RS256', 'ES256', 'EdDSA'] as const)(
    '%s: jose jwtVerify with createRemoteJWKSet on its JWKS accepts its tokens and refuses the bad ones',
    async (algorithm) => {
      const issuer = await TestIssuer.start({
        name: 'jose',
        algorithm,
        audience: 'app',
      });
      issuers.push(issuer);
      const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
      const { payload, protectedHeader } = await jwtVerify(
        issuer.token(),
        jwks,
        {
          issuer: issuer.issuer,
          audience: 'app',
        },
      );
      expect(payload).toMatchObject({ source: 'microservice', sub: 'jose' });
      expect(protectedHeader).toEqual({
        alg: algorithm,
        typ: 'JWT',
        kid: issuer.kid,
      });
      for (const kind of BAD_TOKEN_KINDS.filter((k) => k !== 'noSource')) {
        await expect(
          jwtVerify(issuer.badToken(kind), jwks, {
            issuer: issuer.issuer,
            audience: 'app',
          }),
          kind,
        ).rejects.toThrow();
      }
    },
  );

  it('PyJWT (PyJWKClient on its JWKS, jwt.decode) accepts its RS256, ES256 and EdDSA tokens and refuses every bad one', async () => {
    const python = findPythonWithJwt();
    const cases: {
      jwksUri: string;
      iss: string;
      tokens: Record<string, string>;
    }[] = [];
    for (const algorithm of ['RS256', 'ES256', 'EdDSA'] as const) {
      const issuer = await TestIssuer.start({
        name: 'py',
        algorithm,
        audience: 'app',
      });
      issuers.push(issuer);
      const tokens: Record<string, string> = { valid: issuer.token() };
      for (const kind of BAD_TOKEN_KINDS) tokens[kind] = issuer.badToken(kind);
      cases.push({ jwksUri: issuer.jwksUri, iss: issuer.issuer, tokens });
    }
    const child = execFileAsync(python, ['-c', PYJWT_SCRIPT], {
      timeout: 60_000,
    });
    child.child.stdin!.end(JSON.stringify(cases));
    const results = JSON.parse((await child).stdout) as Record<
      string,
      string
    >[];
    for (const r of results) {
      expect(r.valid).toBe('ok:py');
      for (const kind of BAD_TOKEN_KINDS)
        expect(r[kind], kind).toMatch(/^refused:/);
    }
  });
});

// Reads [{jwksUri, iss, tokens}] on stdin; for each token: 'ok:<sub>' or 'refused:<exception>'.
const PYJWT_SCRIPT = `
import json, sys, jwt
out = []
for case in json.load(sys.stdin):
    client = jwt.PyJWKClient(case["jwksUri"])
    result = {}
    for name, token in case["tokens"].items():
        try:
            key = client.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256", "ES256", "EdDSA"], issuer=case["iss"],
                                audience="app", options={"require": ["exp", "iat", "iss", "source"]})
            result[name] = "ok:" + claims["sub"]
        except Exception as e:
            result[name] = "refused:" + type(e).__name__
    out.append(result)
print(json.dumps(out))
`;

const PYJWT_HINT =
  'The PyJWT check needs python3 with PyJWT and cryptography: `apt-get install -y python3-jwt python3-cryptography` ' +
  '(Debian/Ubuntu; .ci/run installs them), or `pip install pyjwt[crypto]`.';

/** A python3 that can `import jwt` (Debian's /usr/bin/python3 first: a pyenv shim on PATH may lack it). */
function findPythonWithJwt(): string {
  const candidates = ['/usr/bin/python3'];
  try {
    candidates.push(findExecutable('python3', PYJWT_HINT));
  } catch {
    // only the system one
  }
  for (const python of candidates) {
    try {
      execFileSyncQuiet(python, ['-c', 'import jwt, cryptography']);
      return python;
    } catch {
      // next
    }
  }
  throw new Error(PYJWT_HINT);
}

function execFileSyncQuiet(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
}

describe("its JWKS endpoint obeys the module's own JWKS route's rules for hostile input", () => {
  let module: Awaited<ReturnType<typeof startServiceApp>>;
  let issuer: TestIssuer;

  beforeAll(async () => {
    module = await startServiceApp({ name: 'm', issuer: 'http://m.test' });
    issuer = await TestIssuer.start({ name: 'hostile', requestTimeout: 0.5 });
  });
  afterAll(async () => {
    await module?.app.close();
    await issuer?.close();
  });

  const JWKS = '/.well-known/jwks.json';
  const requests: [string, string, number][] = [
    [
      'a query string (ignored)',
      `GET ${JWKS}?kid=x&x=${'a'.repeat(100)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      200,
    ],
    ['HEAD', `HEAD ${JWKS} HTTP/1.1\r\nHost: x\r\n\r\n`, 200],
    [
      'POST with a body',
      `POST ${JWKS} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`,
      404,
    ],
    [
      'PUT',
      `PUT ${JWKS} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
      404,
    ],
    ['DELETE', `DELETE ${JWKS} HTTP/1.1\r\nHost: x\r\n\r\n`, 404],
    ['another path', `GET /.well-known/other HTTP/1.1\r\nHost: x\r\n\r\n`, 404],
    [
      '20 KiB of headers',
      `GET ${JWKS} HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`,
      431,
    ],
    ['a request line that is not HTTP', `GARBAGE\r\n\r\n`, 400],
    [
      'Content-Length and Transfer-Encoding together (smuggling)',
      `POST ${JWKS} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      400,
    ],
  ];

  it.each(requests)('%s: the same status from both', async (_, raw, status) => {
    expect(await rawStatus(module.port, raw)).toBe(status);
    expect(await rawStatus(portOf(issuer), raw)).toBe(status);
  });

  it('never reads a body: a request announcing 1 GiB is answered at once and its connection closed', async () => {
    const started = Date.now();
    const { status, closed } = await rawExchange(
      portOf(issuer),
      `POST ${JWKS} HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n`,
    );
    expect(status).toBe(404);
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('caps its connections: beyond 128 open ones, new connections are closed at once', async () => {
    const sockets = Array.from({ length: 140 }, () =>
      tcpConnect(portOf(issuer), '127.0.0.1'),
    );
    try {
      const closed = await Promise.all(
        sockets.map(
          (s) =>
            new Promise<boolean>((resolve) => {
              const t = setTimeout(() => resolve(false), 300);
              s.once('close', () => {
                clearTimeout(t);
                resolve(true);
              });
              s.on('error', () => undefined);
            }),
        ),
      );
      expect(closed.filter(Boolean).length).toBeGreaterThanOrEqual(12);
      expect(closed.filter((c) => !c).length).toBeGreaterThanOrEqual(100);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('drops a client that sends its headers too slowly (requestTimeout)', async () => {
    const { closed } = await rawExchange(
      portOf(issuer),
      `GET ${JWKS} HTTP/1.1\r\nHost: x\r\n`,
      5000,
    );
    expect(closed).toBe(true);
  });

  it('under seeded random requests (600): answers 200, 400, 404 or 431 (or closes), never fails, and still serves', async () => {
    let state = 20261202;
    const rand = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)];
    const noise = (n: number) =>
      String.fromCharCode(...Array.from({ length: n }, () => rand(256)));
    const methods = ['GET', 'HEAD', 'POST', 'OPTIONS', 'TRACE', 'G\u0000T', ''];
    const paths = [JWKS, '/.well-known/openid-configuration', '/', '*', '//x'];
    const seen = new Set<number>();
    for (let round = 0; round < 60; round++) {
      const batch = Array.from({ length: 10 }, () => {
        const path =
          pick(paths) + (rand(2) ? '' : noise(rand(40)).replace(/[\s]/g, ''));
        const head = `${pick(methods)} ${path} HTTP/1.${rand(3)}\r\nHost: x\r\n`;
        const extra = rand(3) === 0 ? `${noise(rand(64))}\r\n` : '';
        const body = rand(4) === 0 ? `Content-Length: ${rand(100)}\r\n` : '';
        return rawExchange(
          portOf(issuer),
          `${head}${extra}${body}Connection: close\r\n\r\n${rand(3) === 0 ? noise(rand(50)) : ''}`,
          2000,
          true,
        );
      });
      for (const { status } of await Promise.all(batch)) seen.add(status);
    }
    for (const status of seen)
      expect([0, 200, 400, 404, 431, 505]).toContain(status);
    expect(seen).toContain(200);
    expect(seen).toContain(404);
    expect(await (await fetch(issuer.jwksUri)).json()).toEqual(issuer.jwks());
  });

  it('serves public key members only', async () => {
    for (const algorithm of ['RS256', 'ES256', 'EdDSA'] as const) {
      const i = await TestIssuer.start({ algorithm, serve: false });
      for (const k of i.jwks().keys)
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
          expect(k).not.toHaveProperty(secret);
      await i.close();
    }
  });
});

const portOf = (i: TestIssuer) => Number(new URL(i.issuer).port);

async function rawStatus(port: number, raw: string): Promise<number> {
  return (await rawExchange(port, raw, 2000, true)).status;
}

/** Sends raw bytes; resolves with the status of the first response and whether the server closed the connection. */
function rawExchange(
  port: number,
  raw: string,
  waitMs = 2000,
  untilStatus = false,
): Promise<{ status: number; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        closed,
      });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (untilStatus && /^HTTP\/1\.1 \d{3}/.test(text)) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(raw);
  });
}
