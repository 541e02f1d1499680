import 'reflect-metadata';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { verifySignature } from '@vonage/jwt';
import { importSPKI, jwtVerify } from 'jose';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  JWT_ISSUER_ENV_VARS,
  type JwtIssuerConfigError,
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
  VonageJwtService,
} from '../../lib/index.js';
import { captureOutput } from '../support/capture-output.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = rsa.privateKey
  .export({ format: 'pem', type: 'pkcs8' })
  .toString();
const publicPem = rsa.publicKey
  .export({ format: 'pem', type: 'spki' })
  .toString();
/** The base64 body of a PEM: what must never be printed. */
const body = (pem: string) =>
  pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
const bodyLines = (pem: string) =>
  pem.split('\n').filter((l) => l && !l.startsWith('-----'));
const dir = mkdtempSync(join(tmpdir(), 'vonage-key-'));

async function boot(options: JwtIssuerModuleOptions) {
  return captureOutput(async (logger) => {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtIssuerModule.forRoot(options)],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    return moduleRef;
  });
}

function expectNoKeyMaterial(text: string, pem: string): void {
  expect(text).not.toContain(body(pem));
  for (const line of bodyLines(pem)) expect(text).not.toContain(line);
}

async function expectVerifies(service: VonageJwtService): Promise<void> {
  const token = service.createToken({ sub: 'u' });
  expect(verifySignature(token, publicPem)).toBe(true);
  await jwtVerify(token, await importSPKI(publicPem, 'RS256'), {
    algorithms: ['RS256'],
  });
}

describe('vonage configuration', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the vonage env vars', () => {
    expect(
      JWT_ISSUER_ENV_VARS.filter((v) => v.path.startsWith('vonage.')),
    ).toEqual([
      {
        env: 'JWT_ISSUER_VONAGE_APPLICATION_ID',
        path: 'vonage.applicationId',
        kind: 'string',
      },
      {
        env: 'JWT_ISSUER_VONAGE_PRIVATE_KEY',
        path: 'vonage.privateKey',
        kind: 'string',
        secret: true,
      },
      {
        env: 'JWT_ISSUER_VONAGE_DEFAULT_TTL',
        path: 'vonage.defaultTtl',
        kind: 'number',
      },
    ]);
  });

  it('reads the section from the environment: a PEM with \\n escapes, or a key file path', async () => {
    vi.stubEnv('JWT_ISSUER_VONAGE_APPLICATION_ID', randomUUID());
    vi.stubEnv(
      'JWT_ISSUER_VONAGE_PRIVATE_KEY',
      privatePem.trim().replace(/\n/g, '\\n'),
    );
    vi.stubEnv('JWT_ISSUER_VONAGE_DEFAULT_TTL', '120');
    const first = await boot({});
    expect(first.error).toBeUndefined();
    expect(first.output).toContain('vonage on');
    expectNoKeyMaterial(first.output, privatePem);
    const service = first.result!.get(VonageJwtService);
    await expectVerifies(service);
    const claims = JSON.parse(
      Buffer.from(service.createToken().split('.')[1], 'base64url').toString(),
    ) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBe(120);
    await first.result!.close();

    const file = join(dir, 'private.key');
    writeFileSync(file, privatePem, { mode: 0o600 });
    vi.stubEnv('JWT_ISSUER_VONAGE_PRIVATE_KEY', file);
    const second = await boot({});
    expect(second.error).toBeUndefined();
    await expectVerifies(second.result!.get(VonageJwtService));
    await second.result!.close();
  });

  it('fails start-up listing every problem when id and key are missing', async () => {
    const { error } = await boot({
      ignoreEnvVars: true,
      vonage: { defaultTtl: 100_000 },
    });
    expect(error).toMatchObject({ code: 'ERR_JWT_ISSUER_CONFIG_INVALID' });
    const message = (error as Error).message;
    expect((error as JwtIssuerConfigError).problems.map((p) => p.path)).toEqual(
      ['vonage.applicationId', 'vonage.privateKey', 'vonage.defaultTtl'],
    );
    expect(message).toContain(
      'vonage.applicationId (JWT_ISSUER_VONAGE_APPLICATION_ID): is required',
    );
    expect(message).toContain(
      'vonage.privateKey (JWT_ISSUER_VONAGE_PRIVATE_KEY): is required',
    );
    expect(message).toContain(
      'vonage.defaultTtl (JWT_ISSUER_VONAGE_DEFAULT_TTL): must be a whole number',
    );
  });

  it('refuses a public key where the private key belongs, without printing it', async () => {
    const { error, output } = await boot({
      ignoreEnvVars: true,
      vonage: { applicationId: 'app', privateKey: publicPem },
    });
    expect((error as JwtIssuerConfigError).problems).toEqual([
      {
        path: 'vonage.privateKey',
        env: 'JWT_ISSUER_VONAGE_PRIVATE_KEY',
        message: 'is a public key; a private key is needed',
      },
    ]);
    expectNoKeyMaterial((error as Error).message, publicPem);
    expectNoKeyMaterial(output, publicPem);
  });

  it('refuses a malformed PEM, a non-RSA key, a short RSA key and a missing file; lists them with the id problem', async () => {
    const lines = privatePem.trim().split('\n');
    // Damage the middle of the body: still PEM-shaped, no longer a key.
    const broken = [
      ...lines.slice(0, 5),
      'AAAA' + lines[5].slice(4),
      ...lines.slice(6, -3),
      lines.at(-1),
    ].join('\n');
    vi.stubEnv('JWT_ISSUER_VONAGE_PRIVATE_KEY', broken);
    const malformed = await boot({ vonage: { applicationId: 'has space' } });
    const problems = (malformed.error as JwtIssuerConfigError).problems;
    expect(problems.map((p) => p.path)).toEqual([
      'vonage.applicationId',
      'vonage.privateKey',
    ]);
    expect(problems[1].message).toMatch(/^is not a valid private key/);
    expectNoKeyMaterial((malformed.error as Error).message, broken);
    expectNoKeyMaterial(malformed.output, broken);
    expectNoKeyMaterial(String((malformed.error as Error).stack), broken);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const short = generateKeyPairSync('rsa', {
      modulusLength: 1024,
    }).privateKey;
    for (const privateKey of [
      ec,
      short.export({ format: 'pem', type: 'pkcs8' }).toString(),
    ]) {
      const { error } = await boot({
        ignoreEnvVars: true,
        vonage: { applicationId: 'app', privateKey },
      });
      expect((error as JwtIssuerConfigError).problems).toEqual([
        expect.objectContaining({
          path: 'vonage.privateKey',
          message: expect.stringContaining('does not fit RS256') as string,
        }),
      ]);
    }

    const missing = await boot({
      ignoreEnvVars: true,
      vonage: { applicationId: 'app', privateKey: join(dir, 'nope.key') },
    });
    expect(
      (missing.error as JwtIssuerConfigError).problems[0].message,
    ).toContain('the key file was not found');
  });

  it('without a vonage section the service is injectable but says what to configure', async () => {
    const { result } = await boot({ ignoreEnvVars: true });
    expect(() => result!.get(VonageJwtService).createToken()).toThrow(
      /JWT_ISSUER_VONAGE_APPLICATION_ID and JWT_ISSUER_VONAGE_PRIVATE_KEY/,
    );
    await result!.close();
  });
});
