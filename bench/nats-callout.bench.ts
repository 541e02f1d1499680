import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { createAccount, createCurve, createServer } from '@nats-io/nkeys';
import nacl from 'tweetnacl';
import { NatsCalloutResponder, type NatsAuthDecision } from '../lib/index.js';
import { normalizeCalloutOptions } from '../lib/nats/callout/callout.options.js';
import { ConfigProblems } from '../lib/config/config-problems.js';
import { decodeSeed, generateNkey } from '../lib/nats/nkey.js';
import { XkeyBox } from '../lib/nats/callout/xkey.js';
import { compare } from './harness.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const b64 = (v: unknown) =>
  Buffer.from(JSON.stringify(v)).toString('base64url');

/** The bench's authorizer: allows everyone, with permissions (the application's own cost is not measured). */
class AllowAll {
  authorize(): NatsAuthDecision {
    return {
      allow: true,
      name: 'orders',
      tags: ['team:blue'],
      permissions: {
        pub: { allow: ['users.orders.>'] },
        sub: { allow: ['users.orders.>', '_INBOX.>'] },
      },
    };
  }
}

/**
 * The auth-callout responder in-process: one request validated (Ed25519 verify), decided, its user JWT and the
 * response signed (two Ed25519 signatures), sealed and opened when xkey is on; against the raw node:crypto work of the
 * same sizes (verify + two signs, plus the two XSalsa20-Poly1305 boxes with the cached key).
 */
export default async function (): Promise<void> {
  const issuer = createAccount();
  const server = createServer();
  const serverPrivate = createPrivateKey({
    key: Buffer.concat([
      Buffer.from('302e020100300506032b657004220420', 'hex'),
      Buffer.from(
        (server as unknown as { getRawSeed(): Uint8Array }).getRawSeed(),
      ),
    ]),
    format: 'der',
    type: 'pkcs8',
  });
  for (const xkeyOn of [false, true]) {
    const responderXkey = createCurve();
    const serverXkey = createCurve();
    const problems = new ConfigProblems();
    const options = normalizeCalloutOptions(
      {
        servers: 'nats://127.0.0.1:4222',
        user: 'u',
        pass: 'p',
        issuerKey: text(issuer.getSeed()),
        account: 'APP',
        authorizer: AllowAll,
        maxPending: 100, // replay memory of 1,000: the 3,000 requests below never repeat within it
        timeout: 60,
        ...(xkeyOn ? { xkey: text(responderXkey.getSeed()) } : {}),
      },
      problems,
      { production: false, logger: console },
      {},
    );
    if (!options)
      throw new Error(problems.list.map((p) => p.message).join('; '));
    const responder = new NatsCalloutResponder(options);
    await responder.prepare();
    const iat = Math.floor(Date.now() / 1000);
    const serverBox = xkeyOn
      ? new XkeyBox(text(serverXkey.getSeed()), 'bench')
      : undefined;
    const requests = Array.from({ length: 3000 }, (_, i) => {
      const claims = {
        aud: 'nats-authorization-request',
        exp: iat + 3600,
        iat,
        iss: server.getPublicKey(),
        jti: `J${i}`,
        sub: issuer.getPublicKey(),
        nats: {
          server_id: {
            name: 'bench',
            host: '127.0.0.1',
            id: server.getPublicKey(),
            version: '2.10.27',
            ...(xkeyOn ? { xkey: serverXkey.getPublicKey() } : {}),
          },
          user_nkey: generateNkey('user').publicKey,
          client_info: {
            host: '127.0.0.1',
            id: i,
            kind: 'Client',
            type: 'nats',
          },
          connect_opts: {
            auth_token: 'x'.repeat(400),
            lang: 'nats.js',
            version: '3.4.0',
            protocol: 1,
          },
          type: 'authorization_request',
          version: 2,
        },
      };
      const input = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64(claims)}`;
      const jwt = `${input}.${sign(null, Buffer.from(input), serverPrivate).toString('base64url')}`;
      const bytes = new TextEncoder().encode(jwt);
      return xkeyOn
        ? serverBox!.seal(bytes, responderXkey.getPublicKey())
        : bytes;
    });
    let n = 1; // requests[0] answers the sample below
    const header = xkeyOn ? serverXkey.getPublicKey() : undefined;
    const sample = await responder.answer(requests[0], header);
    if (!sample) throw new Error('the bench request was not answered');
    // Raw crypto of the same sizes: the request verified, the user JWT and the response signed, the boxes.
    const plainRequest = xkeyOn
      ? serverXkey.open(requests[1], responderXkey.getPublicKey())!
      : requests[1];
    const reqText = text(plainRequest);
    const reqInput = Buffer.from(reqText.slice(0, reqText.lastIndexOf('.')));
    const reqSig = Buffer.from(
      reqText.slice(reqText.lastIndexOf('.') + 1),
      'base64url',
    );
    const verifyKey = createPublicKey(serverPrivate);
    const issuerKey = decodeSeed(text(issuer.getSeed()), 'k', [
      'account',
    ]).privateKey;
    const responseText = xkeyOn
      ? text(serverXkey.open(sample, responderXkey.getPublicKey())!)
      : text(sample);
    const responseInput = Buffer.from(
      responseText.slice(0, responseText.lastIndexOf('.')),
    );
    const userJwt = JSON.parse(
      Buffer.from(responseText.split('.')[1], 'base64url').toString(),
    ).nats.jwt as string;
    const userInput = Buffer.from(userJwt.slice(0, userJwt.lastIndexOf('.')));
    const boxKey = randomBytes(32); // the cached shared key: a box costs one secretbox pass
    const nonce = randomBytes(24);
    const sealedReq = nacl.secretbox(plainRequest, nonce, boxKey);
    await compare(
      `NATS auth callout responder, config mode, xkey ${xkeyOn ? 'on' : 'off'} (${plainRequest.length}-byte request)`,
      [
        {
          name: `raw node:crypto: 1 Ed25519 verify + 2 signs${xkeyOn ? ' + open and seal (tweetnacl secretbox, cached key)' : ''} (baseline)`,
          fn: () => {
            verify(null, reqInput, verifyKey, reqSig);
            sign(null, userInput, issuerKey);
            sign(null, responseInput, issuerKey);
            if (xkeyOn) {
              nacl.secretbox.open(sealedReq, nonce, boxKey);
              nacl.secretbox(responseInput, nonce, boxKey);
            }
          },
        },
        {
          name: 'nest-jwt-issuer `NatsCalloutResponder` (validate, decide, sign user JWT and response)',
          fn: () => responder.answer(requests[n++ % requests.length], header),
        },
      ],
    );
  }
}
