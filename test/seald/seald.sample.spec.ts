import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, jwtVerify } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SealdController } from '../../sample/seald/seald.controller.js';
import {
  DEV_SEALD_APP_ID,
  DEV_SEALD_SECRET_ID,
  sealdSampleOptions,
} from '../../sample/seald/seald.sample-options.js';
import { postJson, startSampleSection } from '../support/sample-http.js';

const ENV = [
  'JWT_ISSUER_SEALD_SECRET_ID',
  'JWT_ISSUER_SEALD_SECRET',
  'JWT_ISSUER_SEALD_PERMISSIONS',
  'JWT_ISSUER_SEALD_APP_ID',
];

const start = () =>
  startSampleSection(SealdController, async () => ({
    seald: await sealdSampleOptions(),
  }));
const post = postJson;

describe('sample: Seald routes over HTTP', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('with the environment set, returns tokens that verify with the configured secret', async () => {
    const secretId = randomUUID();
    const secret = randomBytes(48).toString('base64url');
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET_ID', secretId);
    vi.stubEnv('JWT_ISSUER_SEALD_SECRET', secret);
    vi.stubEnv('JWT_ISSUER_SEALD_APP_ID', 'my-app');
    const { result: app, output, error } = await start();
    expect(error).toBeUndefined();
    try {
      const signup = await post(app!, '/seald/tokens/signup', {
        userId: 'u-1',
      });
      expect(signup.status).toBe(200);
      const { token } = JSON.parse(signup.text) as { token: string };
      const { payload } = await jwtVerify(
        token,
        new TextEncoder().encode(secret),
        {
          algorithms: ['HS256'],
          issuer: secretId,
        },
      );
      expect(payload).toEqual({
        iss: secretId,
        iat: payload.iat,
        jti: payload.jti,
        scopes: [3, 4],
        join_team: true,
        connector_add: { value: 'u-1@my-app', type: 'AP' },
      });

      const anonymous = await post(app!, '/seald/tokens/anonymous', {
        recipients: ['r-1', 'r-2'],
        owner: 'o-1',
      });
      expect(anonymous.status).toBe(200);
      const claims = (
        await jwtVerify(
          (JSON.parse(anonymous.text) as { token: string }).token,
          new TextEncoder().encode(secret),
          { algorithms: ['HS256'] },
        )
      ).payload;
      expect(claims.recipients).toEqual(['r-1', 'r-2']);
      expect(claims.owner).toBe('o-1');

      const refused = await post(app!, '/seald/tokens/anonymous', {
        recipients: [],
      });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('recipients');
      for (const text of [signup.text, anonymous.text, refused.text, output]) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await app!.close();
    }
  });

  it('without the environment, runs on loudly announced development defaults, its secret kept in the dev folder (0600) and reused', async () => {
    for (const name of ENV) vi.stubEnv(name, undefined);
    vi.stubEnv('NODE_ENV', 'development');
    const dir = mkdtempSync(join(tmpdir(), 'seald-sample-'));
    vi.stubEnv('SAMPLE_DEV_DIR', dir);
    const { result: app, output } = await start();
    try {
      expect(output).toContain('DEVELOPMENT ONLY');
      expect(output).toContain('generated now');
      const file = join(dir, 'seald-secret.txt');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const secret = readFileSync(file, 'utf8').trim();
      expect(output).not.toContain(secret);
      const again = await start();
      expect(again.output).toContain('reused');
      await again.result!.close();
      const res = await post(app!, '/seald/tokens/signup', {
        userId: 'dev-user',
      });
      expect(res.status).toBe(200);
      const claims = decodeJwt(
        (JSON.parse(res.text) as { token: string }).token,
      );
      expect(claims.iss).toBe(DEV_SEALD_SECRET_ID);
      expect(claims.connector_add).toEqual({
        value: `dev-user@${DEV_SEALD_APP_ID}`,
        type: 'AP',
      });
      await jwtVerify(
        (JSON.parse(res.text) as { token: string }).token,
        new TextEncoder().encode(secret),
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
    expect((error as Error).message).toContain('JWT_ISSUER_SEALD_SECRET_ID');
    expect((error as Error).message).toContain('JWT_ISSUER_SEALD_SECRET)');
  });
});
