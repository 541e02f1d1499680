import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createUser } from '@nats-io/nkeys';
import {
  connect,
  credsAuthenticator,
  jwtAuthenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceTokenService } from '../../lib/index.js';
import { AppModule } from '../../sample/app.module.js';
import {
  type RunningNatsServer,
  startNatsServerWithFile,
} from '../support/nats-server.js';

const NATS_ENV = [
  'JWT_ISSUER_NATS_ACCOUNT_ID',
  'JWT_ISSUER_NATS_SIGNING_KEY',
  'JWT_ISSUER_NATS_EXPIRES_IN',
  'JWT_ISSUER_NATS_ACCOUNT_JWT',
];

async function deliveredTo(
  nc: NatsConnection,
  subject: string,
): Promise<boolean> {
  let got = false;
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const _ of sub) got = true;
  })();
  await nc.flush();
  nc.publish(subject, 'x');
  await nc.flush();
  await nc.flush();
  return got;
}

describe('sample app, zero configuration: POST /nats/users over real HTTP, users accepted by nats-server -c <written config>', () => {
  let dir: string;
  let app: INestApplication;
  let base: string;
  let server: RunningNatsServer;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    for (const k of [...NATS_ENV, 'NODE_ENV', 'SAMPLE_DEV_DIR'])
      saved[k] = process.env[k];
    for (const k of NATS_ENV) delete process.env[k];
    process.env.NODE_ENV = 'development';
    dir = mkdtempSync(join(tmpdir(), 'nats-sample-'));
    process.env.SAMPLE_DEV_DIR = dir;
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    // The file exactly as the sample wrote it; only the port is moved off 4222 for the test.
    server = await startNatsServerWithFile(join(dir, 'nats-server.conf'), [
      '-p',
      '-1',
    ]);
  });

  afterAll(async () => {
    await server?.stop();
    await app?.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** POST /nats/users as the authenticated caller `identity` (a service token with those claims), or anonymously. */
  async function post(
    body: unknown,
    identity: Record<string, unknown> | null = { sub: 'alice', team: 'blue' },
  ): Promise<{ status: number; json: Record<string, string> }> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
    };
    if (identity) {
      const token = await app
        .get(ServiceTokenService)
        .createJwt({ source: 'microservice', ...identity });
      headers.authorization = `Bearer ${token}`;
    }
    const res = await fetch(`${base}/nats/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      json: (await res.json()) as Record<string, string>,
    };
  }

  it('wrote a development nats-server config', () => {
    const text = readFileSync(join(dir, 'nats-server.conf'), 'utf8');
    expect(text).toMatch(/DEVELOPMENT ONLY/);
    expect(text).toMatch(/resolver: MEMORY/);
  });

  it('refuses an unauthenticated caller (401): who the user is comes from the verified identity', async () => {
    const { status } = await post({}, null);
    expect(status).toBe(401);
  });

  it('creates a user (seed, JWT, creds) named after the authenticated caller; its creds connect and get the template permissions', async () => {
    const { status, json } = await post({});
    expect(status).toBe(201);
    expect(Object.keys(json).toSorted()).toEqual([
      'creds',
      'jwt',
      'publicKey',
      'seed',
    ]);
    const nc = await connect({
      servers: server.url,
      authenticator: credsAuthenticator(new TextEncoder().encode(json.creds)),
    });
    try {
      expect(await deliveredTo(nc, 'users.alice.inbox')).toBe(true);
      expect(await deliveredTo(nc, 'teams.blue.chat')).toBe(true);
    } finally {
      await nc.close();
    }
  });

  it('issues a JWT for a caller-held public key, and returns no seed', async () => {
    const kp = createUser();
    const { status, json } = await post(
      { publicUserKey: kp.getPublicKey() },
      { sub: 'bob' },
    );
    expect(status).toBe(201);
    expect(Object.keys(json).toSorted()).toEqual(['jwt', 'publicKey']);
    const nc = await connect({
      servers: server.url,
      authenticator: jwtAuthenticator(json.jwt, kp.getSeed()),
    });
    try {
      expect(await deliveredTo(nc, 'users.bob.x')).toBe(true);
    } finally {
      await nc.close();
    }
  });

  it('answers 400 with a stable code for bad input, never echoing a seed', async () => {
    const seed = new TextDecoder().decode(createUser().getSeed());
    const r1 = await post({ publicUserKey: seed });
    expect(r1.status).toBe(400);
    expect(r1.json.code).toBe('ERR_JWT_ISSUER_NKEY_WRONG_TYPE');
    expect(JSON.stringify(r1.json)).not.toContain(seed);
  });

  it('answers 400 ERR_JWT_ISSUER_UNSAFE_TEMPLATE_VALUE for an identity that would widen the rights', async () => {
    for (const identity of [
      { sub: '*' },
      { sub: 'bob.x' },
      { sub: 'eve', team: '*' },
    ]) {
      const r = await post({}, identity);
      expect(r.status).toBe(400);
      expect(r.json.code).toBe('ERR_JWT_ISSUER_UNSAFE_TEMPLATE_VALUE');
    }
  });

  it('takes nothing but the public key from the body: name, tags, permissions and expiry sent there are ignored; users expire', async () => {
    const { status, json } = await post(
      {
        name: '*',
        tags: ['team:*'],
        expiresIn: 1e9,
        permissions: { pub: { allow: ['>'] } },
      },
      { sub: 'eve' },
    );
    expect(status).toBe(201);
    const body = JSON.parse(
      Buffer.from(json.jwt.split('.')[1], 'base64url').toString(),
    ) as { name: string; iat: number; exp: number; nats: object };
    expect(body.name).toBe('eve');
    expect(body.exp - body.iat).toBe(3600);
    expect(body.nats).not.toHaveProperty('pub');
    expect(body.nats).not.toHaveProperty('tags');
  });
});

describe('sample app in production without NATS keys', () => {
  it('refuses to start, naming the missing options and their env vars', async () => {
    const saved = { ...process.env };
    for (const k of NATS_ENV) delete process.env[k];
    process.env.NODE_ENV = 'production';
    try {
      const err = await Test.createTestingModule({ imports: [AppModule] })
        .compile()
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_JWT_ISSUER_CONFIG_INVALID' });
      const problems = (err as { problems: { path: string; env?: string }[] })
        .problems;
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            path: 'nats.accountId',
            env: 'JWT_ISSUER_NATS_ACCOUNT_ID',
          }),
          expect.objectContaining({
            path: 'nats.signingKey',
            env: 'JWT_ISSUER_NATS_SIGNING_KEY',
          }),
        ]),
      );
    } finally {
      process.env.NODE_ENV = saved.NODE_ENV;
    }
  });
});
