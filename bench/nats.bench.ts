import { sign } from 'node:crypto';
import { Algorithms, encodeUser, fromPublic, fromSeed } from '@nats-io/jwt';
import {
  createNatsDevelopmentAccount,
  issueUserJwt,
  NatsUserJwtService,
} from '../lib/index.js';
import { decodeSeed } from '../lib/nats/nkey.js';
import { compare } from './harness.js';

/**
 * NATS user JWTs (ADR-14) signed by a scoped signing key: this project against a raw node:crypto Ed25519 signature
 * of the same bytes (the baseline) and against @nats-io/jwt encodeUser with an @nats-io/nkeys (tweetnacl) signer.
 */
export default async function (): Promise<void> {
  const dev = createNatsDevelopmentAccount();
  const accountId = dev.account.publicKey;
  const signingKey = dev.signingKey.seed;
  const service = new NatsUserJwtService({
    accountId,
    signingKey: decodeSeed(signingKey, 'signingKey', ['account']),
    account: { scope: 'scoped', issuer: dev.operator.publicKey },
  });
  const publicUserKey = service.createUser().publicKey;
  const claims = { name: 'alice', tags: ['team:blue'], expiresIn: 3600 };

  // Baseline: the same header and body bytes, base64url-encoded by hand, signed with a key imported once.
  const [headerSegment, bodySegment] = issueUserJwt({
    signingKey,
    accountId,
    publicUserKey,
    ...claims,
  }).split('.');
  const bodyJson = Buffer.from(bodySegment, 'base64url').toString();
  const key = decodeSeed(signingKey, 'signingKey', ['account']).privateKey;

  const nkeysSigner = fromSeed(new TextEncoder().encode(signingKey));
  const issuer = fromPublic(accountId);
  const user = fromPublic(publicUserKey);

  await compare(
    `NATS user JWT, scoped signing key, Ed25519 (${bodyJson.length}-byte body)`,
    [
      {
        name: 'raw node:crypto Ed25519 sign of the same bytes (baseline)',
        fn: () => {
          const input = `${headerSegment}.${Buffer.from(bodyJson).toString('base64url')}`;
          return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
        },
      },
      {
        name: 'nest-jwt-issuer `issueUserJwt()`',
        fn: () =>
          issueUserJwt({ signingKey, accountId, publicUserKey, ...claims }),
      },
      {
        name: 'nest-jwt-issuer `NatsUserJwtService.issueUserJwt()`',
        fn: () => service.issueUserJwt({ publicUserKey, ...claims }),
      },
      {
        name: '@nats-io/jwt `encodeUser` (scopedUser) + @nats-io/nkeys signer',
        fn: () =>
          encodeUser(
            claims.name,
            user,
            issuer,
            { tags: claims.tags },
            {
              signer: nkeysSigner,
              scopedUser: true,
              algorithm: Algorithms.v2,
              exp: Math.floor(Date.now() / 1000) + claims.expiresIn,
            },
          ),
      },
    ],
  );
}
