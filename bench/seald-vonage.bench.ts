import {
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { tokenGenerate } from '@vonage/jwt';
import { createSigner } from 'fast-jwt';
import { importPKCS8, SignJWT } from 'jose';
import {
  JwtIssuerModule,
  SealdJwtService,
  VonageJwtService,
  vonageAcl,
} from '../lib/index.js';
import { compare } from './harness.js';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Seald anonymous-encryption tokens (HS256) and Vonage Client SDK tokens (RS256), against raw node:crypto and peers. */
export default async function (): Promise<void> {
  const secretId = randomUUID();
  const secret = randomBytes(48).toString('base64url');
  const applicationId = randomUUID();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

  const app = await NestFactory.createApplicationContext(
    JwtIssuerModule.forRoot({
      ignoreEnvVars: true,
      seald: { secretId, secret },
      vonage: { applicationId, privateKey: pem },
    }),
    { logger: false },
  );
  const seald = app.get(SealdJwtService);
  const vonage = app.get(VonageJwtService);

  // --- Seald: { iss, iat, jti, scopes, recipients, owner } ---
  const recipient = randomUUID();
  const owner = randomUUID();
  const hsKey = createSecretKey(Buffer.from(secret, 'utf8'));
  const hsHeader = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const joseSecret = new TextEncoder().encode(secret);
  const fastHs = createSigner({ key: secret, algorithm: 'HS256' });
  await compare('Seald anonymous-encryption token (HS256)', [
    {
      name: 'raw node:crypto HS256',
      fn: () => {
        const input = `${hsHeader}.${b64(
          JSON.stringify({
            iss: secretId,
            iat: Math.floor(Date.now() / 1000),
            jti: randomUUID(),
            scopes: [0, 1],
            recipients: [recipient],
            owner,
          }),
        )}`;
        return `${input}.${createHmac('sha256', hsKey).update(input).digest('base64url')}`;
      },
    },
    {
      name: 'SealdJwtService.createAnonymousEncryptionToken',
      fn: () =>
        seald.createAnonymousEncryptionToken({
          recipients: [recipient],
          owner,
        }),
    },
    {
      name: 'SealdJwtService.createToken',
      fn: () =>
        seald.createToken({ scopes: [0, 1], recipients: [recipient], owner }),
    },
    {
      name: 'jose SignJWT',
      fn: () =>
        new SignJWT({ scopes: [0, 1], recipients: [recipient], owner })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setIssuer(secretId)
          .setIssuedAt()
          .setJti(randomUUID())
          .sign(joseSecret),
    },
    {
      name: 'fast-jwt createSigner',
      fn: () =>
        fastHs({
          iss: secretId,
          jti: randomUUID(),
          scopes: [0, 1],
          recipients: [recipient],
          owner,
        }),
    },
  ]);

  // --- Vonage: { application_id, iat, jti, exp, sub, acl } ---
  const acl = vonageAcl('all');
  const rsHeader = b64(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const joseKey = await importPKCS8(pem, 'RS256');
  const fastRs = createSigner({
    key: pem,
    algorithm: 'RS256',
    expiresIn: 900_000,
  });
  await compare('Vonage Client SDK token (RS256)', [
    {
      name: 'raw node:crypto RS256',
      fn: () => {
        const iat = Math.floor(Date.now() / 1000);
        const input = `${rsHeader}.${b64(
          JSON.stringify({
            application_id: applicationId,
            iat,
            jti: randomUUID(),
            exp: iat + 900,
            sub: 'jamie',
            acl,
          }),
        )}`;
        return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
      },
    },
    {
      name: 'VonageJwtService.createToken',
      fn: () => vonage.createToken({ sub: 'jamie', acl }),
    },
    {
      name: '@vonage/jwt tokenGenerate',
      fn: () => tokenGenerate(applicationId, pem, { sub: 'jamie', acl }),
    },
    {
      name: 'jose SignJWT',
      fn: () =>
        new SignJWT({ application_id: applicationId, sub: 'jamie', acl })
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
          .setIssuedAt()
          .setJti(randomUUID())
          .setExpirationTime('900s')
          .sign(joseKey),
    },
    {
      name: 'fast-jwt createSigner',
      fn: () =>
        fastRs({
          application_id: applicationId,
          jti: randomUUID(),
          sub: 'jamie',
          acl,
        }),
    },
  ]);
  await app.close();
}
