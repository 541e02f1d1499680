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
 * NATS user JWTs (ADR-14) signed by a scoped signing key: this project against the node:crypto Ed25519 signature
 * alone of the same signing input (the baseline: no JSON, no base64url, no jti hash) and against @nats-io/jwt
 * encodeUser with an @nats-io/nkeys (tweetnacl) signer.
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

  // Baseline: the Ed25519 signature alone, of the very signing input issueUserJwt produces (header and body already
  // base64url-encoded, as bytes, key imported once): the physical limit. Encoding the body is not in it.
  const jwt = issueUserJwt({ signingKey, accountId, publicUserKey, ...claims });
  const signingInput = Buffer.from(jwt.slice(0, jwt.lastIndexOf('.')));
  const bodyLength = Buffer.from(jwt.split('.')[1], 'base64url').length;
  const key = decodeSeed(signingKey, 'signingKey', ['account']).privateKey;

  const nkeysSigner = fromSeed(new TextEncoder().encode(signingKey));
  const issuer = fromPublic(accountId);
  const user = fromPublic(publicUserKey);

  await compare(
    `NATS user JWT, scoped signing key, Ed25519 (${bodyLength}-byte body)`,
    [
      {
        name: 'node:crypto Ed25519 signature alone of the same signing input (baseline)',
        fn: () => sign(null, signingInput, key),
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
