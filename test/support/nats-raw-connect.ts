import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { fromSeed } from '@nats-io/nkeys';

const PKCS8_ED25519_PREFIX = Buffer.from(
  '302e020100300506032b657004220420',
  'hex',
);

/** The Ed25519 private key of an nkey seed, decoded with @nats-io/nkeys (independently of the library). */
export function seedPrivateKey(seed: string): KeyObject {
  const kp = fromSeed(new TextEncoder().encode(seed));
  const raw = (kp as unknown as { getRawSeed(): Uint8Array }).getRawSeed();
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
}

/**
 * Authenticates to nats-server over a raw TCP connection with the NATS protocol (INFO, CONNECT with the JWT and the
 * nonce signed by the user seed, PING) and reports the outcome: `'ok'` on PONG, else the server's `-ERR` text.
 * Used for the refusals: the Node client can throw an uncaught EPIPE when the server closes a refused connection.
 */
export function rawConnect(
  port: number,
  jwt: string,
  userSeed: string,
): Promise<string> {
  const key = seedPrivateKey(userSeed);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let buffer = '';
    let sent = false;
    const done = (outcome: string): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error(`no answer from nats-server: ${buffer}`));
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // The server may close before we read its -ERR; report what we have.
      if (buffer.includes('-ERR'))
        done(buffer.slice(buffer.indexOf('-ERR')).trim());
      else reject(e);
    });
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      if (!sent) {
        const m = /^INFO (\{.*\}) *\r\n/.exec(buffer);
        if (!m) return;
        const info = JSON.parse(m[1]) as { nonce?: string };
        const sig = sign(null, Buffer.from(info.nonce ?? ''), key).toString(
          'base64url',
        );
        const connectOptions = {
          jwt,
          sig,
          verbose: false,
          pedantic: false,
          protocol: 1,
          lang: 'raw',
          version: '0',
        };
        socket.write(`CONNECT ${JSON.stringify(connectOptions)}\r\nPING\r\n`);
        sent = true;
        buffer = '';
        return;
      }
      if (buffer.includes('PONG')) done('ok');
      else if (buffer.includes('-ERR'))
        done(buffer.slice(buffer.indexOf('-ERR')).split('\r\n')[0]);
    });
    socket.on('close', () => {
      if (buffer.includes('-ERR'))
        done(buffer.slice(buffer.indexOf('-ERR')).split('\r\n')[0]);
      else reject(new Error(`nats-server closed the connection: ${buffer}`));
    });
  });
}
