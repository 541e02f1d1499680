import 'reflect-metadata';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { verifySignature } from '@vonage/jwt';
import { decodeJwt, jwtVerify } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VonageController } from '../../sample/vonage/vonage.controller.js';
import {
  DEV_VONAGE_APPLICATION_ID,
  vonageSampleOptions,
} from '../../sample/vonage/vonage.sample-options.js';
import { postJson, startSampleSection } from '../support/sample-http.js';

const ENV = [
  'JWT_ISSUER_VONAGE_APPLICATION_ID',
  'JWT_ISSUER_VONAGE_PRIVATE_KEY',
  'JWT_ISSUER_VONAGE_DEFAULT_TTL',
];

const start = () =>
  startSampleSection(VonageController, async () => ({
    vonage: await vonageSampleOptions(),
  }));
const post = (app: INestApplication, body: unknown) =>
  postJson(app, '/vonage/tokens', body);

describe('sample: Vonage route over HTTP', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('with the environment set, returns tokens that verify with the application’s public key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
    });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const applicationId = randomUUID();
    vi.stubEnv('JWT_ISSUER_VONAGE_APPLICATION_ID', applicationId);
    vi.stubEnv('JWT_ISSUER_VONAGE_PRIVATE_KEY', pem);
    const { result: app, output, error } = await start();
    expect(error).toBeUndefined();
    try {
      const res = await post(app!, {
        user: 'jamie',
        paths: ['sessions', 'conversations'],
        ttl: 3600,
      });
      expect(res.status).toBe(200);
      const { token } = JSON.parse(res.text) as { token: string };
      expect(
        verifySignature(
          token,
          publicKey.export({ format: 'pem', type: 'spki' }).toString(),
        ),
      ).toBe(true);
      const { payload } = await jwtVerify(token, publicKey, {
        algorithms: ['RS256'],
      });
      expect(payload).toEqual({
        application_id: applicationId,
        iat: payload.iat,
        jti: payload.jti,
        exp: payload.iat! + 3600,
        sub: 'jamie',
        acl: { paths: { '/v1/sessions/**': {}, '/v1/conversations/**': {} } },
      });

      const tooLong = await post(app!, { user: 'jamie', ttl: 90_000 });
      expect(tooLong.status).toBe(400);
      expect(tooLong.text).toContain('ttl');
      const noUser = await post(app!, {});
      expect(noUser.status).toBe(400);
      for (const text of [res.text, tooLong.text, noUser.text, output]) {
        for (const line of body) expect(text).not.toContain(line);
      }
    } finally {
      await app!.close();
    }
  });

  it('without the environment, runs on a loudly announced development key, kept in the dev folder (0600) and reused', async () => {
    for (const name of ENV) vi.stubEnv(name, undefined);
    vi.stubEnv('NODE_ENV', 'development');
    const dir = mkdtempSync(join(tmpdir(), 'vonage-sample-'));
    vi.stubEnv('SAMPLE_DEV_DIR', dir);
    const { result: app, output } = await start();
    try {
      expect(output).toContain('DEVELOPMENT ONLY');
      expect(output).toContain('generated now');
      const file = join(dir, 'vonage-key.pem');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const again = await start();
      expect(again.output).toContain('reused');
      await again.result!.close();
      const res = await post(app!, { user: 'dev' });
      expect(res.status).toBe(200);
      const claims = decodeJwt(
        (JSON.parse(res.text) as { token: string }).token,
      );
      expect(claims.application_id).toBe(DEV_VONAGE_APPLICATION_ID);
      expect(Object.keys((claims.acl as { paths: object }).paths)).toHaveLength(
        9,
      );
      await jwtVerify(
        (JSON.parse(res.text) as { token: string }).token,
        createPublicKey(readFileSync(file, 'utf8')),
      );
    } finally {
      await app!.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('in production without the environment, refuses to start and names what is missing', async () => {
    for (const name of ENV) vi.stubEnv(name, undefined);
    vi.stubEnv('NODE_ENV', 'production');
    const { error } = await start();
    expect(error).toMatchObject({ code: 'ERR_JWT_ISSUER_CONFIG_INVALID' });
    expect((error as Error).message).toContain(
      'JWT_ISSUER_VONAGE_APPLICATION_ID',
    );
    expect((error as Error).message).toContain('JWT_ISSUER_VONAGE_PRIVATE_KEY');
  });
});
