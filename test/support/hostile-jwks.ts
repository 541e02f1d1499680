import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createGzip } from 'node:zlib';
import { b64 } from './forge.js';

/** What one path of the {@link HostileJwks} server does when asked for its JWKS. */
export type JwksBehaviour =
  /** A JWKS `{ keys }` (or `raw` text), with an optional `Cache-Control`. */
  | { kind: 'keys'; keys?: unknown[]; raw?: string; cacheControl?: string }
  /** Headers at once, then one byte every `everyMs`, never ending. */
  | { kind: 'trickle'; everyMs: number }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** An endless body (bounded at 1 GiB), written as fast as the client reads. */
  | { kind: 'huge' }
  /** `Content-Encoding: gzip`: 256 KiB on the wire that inflate to 256 MiB. */
  | { kind: 'gzip-bomb' }
  /** Closes the connection without answering (a peer that is down). */
  | { kind: 'down' }
  /** Answers this status with an empty body. */
  | { kind: 'status'; status: number };

interface PathState {
  behaviour: JwksBehaviour;
  hits: number;
  bytesSent: number;
}

/** 256 MiB of JSON whitespace, gzipped once per process (about 256 KiB). */
let bomb: Promise<Buffer> | undefined;
export function gzipBomb(): Promise<Buffer> {
  bomb ??= (async () => {
    const gzip = createGzip({ level: 9 });
    const out: Buffer[] = [];
    gzip.on('data', (c: Buffer) => out.push(c));
    const ended = new Promise((r) => gzip.on('end', r));
    gzip.write('{"keys":[');
    const spaces = Buffer.alloc(1 << 20, 0x20);
    for (let i = 0; i < 256; i++) {
      if (!gzip.write(spaces)) await new Promise((r) => gzip.once('drain', r));
    }
    gzip.end(']}');
    await ended;
    return Buffer.concat(out);
  })();
  return bomb;
}

/**
 * A JWKS server on 127.0.0.1 (port 0) that misbehaves on purpose, one behaviour per path, changeable at any time:
 * slow bodies, endless bodies, gzip bombs, weak keys, junk entries, down then up. Counts requests and the bytes it
 * handed to the socket per path.
 *
 * @example
 * const jwks = await startHostileJwks();
 * jwks.set('/slow', { kind: 'trickle', everyMs: 250 });
 * new RemoteJwksKeySource({ issuer, jwksUri: jwks.url('/slow') });
 */
export interface HostileJwks {
  /** Absolute URL of a path. */
  url(path: string): string;
  /** Sets (or changes) what a path does. */
  set(path: string, behaviour: JwksBehaviour): void;
  /** Requests received on a path. */
  hits(path: string): number;
  /** Body bytes written to the socket on a path (for `huge`). */
  bytesSent(path: string): number;
  /** Stops the server and every connection. */
  close(): Promise<void>;
}

/** Starts a {@link HostileJwks}. */
export async function startHostileJwks(): Promise<HostileJwks> {
  const paths = new Map<string, PathState>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const compressed = await gzipBomb();

  const endless = (res: ServerResponse, state: PathState) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const limit = 1 << 30;
    const pump = () => {
      while (!res.destroyed && state.bytesSent < limit) {
        state.bytesSent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.write('{"keys":[');
    pump();
  };

  const server = createServer((req, res) => {
    const state = paths.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (state === undefined) {
      res.writeHead(404).end();
      return;
    }
    state.hits++;
    const b = state.behaviour;
    switch (b.kind) {
      case 'keys': {
        const body = b.raw ?? JSON.stringify({ keys: b.keys ?? [] });
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(b.cacheControl ? { 'cache-control': b.cacheControl } : {}),
        });
        res.end(body);
        return;
      }
      case 'trickle': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{');
        const timer = setInterval(() => {
          if (res.destroyed) {
            clearInterval(timer);
            timers.delete(timer);
            return;
          }
          state.bytesSent++;
          res.write(' ');
        }, b.everyMs);
        timers.add(timer);
        return;
      }
      case 'hang':
        return;
      case 'huge':
        res.writeHead(200, { 'content-type': 'application/json' });
        endless(res, state);
        return;
      case 'gzip-bomb':
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': compressed.length,
        });
        state.bytesSent += compressed.length;
        res.end(compressed);
        return;
      case 'down':
        req.socket.destroy();
        return;
      case 'status':
        res.writeHead(b.status).end();
        return;
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  const of = (path: string) => {
    const state = paths.get(path);
    if (!state) throw new Error(`no behaviour set for ${path}`);
    return state;
  };

  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    set: (path, behaviour) => {
      const state = paths.get(path);
      if (state) state.behaviour = behaviour;
      else paths.set(path, { behaviour, hits: 0, bytesSent: 0 });
    },
    hits: (path) => of(path).hits,
    bytesSent: (path) => of(path).bytesSent,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The Ed25519 identity point as a public key: `R = identity, S = 0` "verifies" every message with it. */
export const ED25519_IDENTITY_X = Buffer.concat([
  Buffer.from([1]),
  Buffer.alloc(31),
]).toString('base64url');

/** Forges an EdDSA token that verifies against {@link ED25519_IDENTITY_X} (no private key involved). */
export function forgeWithIdentityKey(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const signature = Buffer.concat([Buffer.from([1]), Buffer.alloc(63)]);
  return `${b64(header)}.${b64(payload)}.${signature.toString('base64url')}`;
}

/**
 * Forges an RS256 token that verifies against the RSA key `(n, e = 1)`: with exponent 1, the signature is the
 * padded hash itself.
 */
export function forgeWithExponentOne(
  n: string,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const size = Buffer.from(n, 'base64url').length;
  const digestInfo = Buffer.concat([
    Buffer.from('3031300d060960864801650304020105000420', 'hex'),
    createHash('sha256').update(input).digest(),
  ]);
  const em = Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.alloc(size - 3 - digestInfo.length, 0xff),
    Buffer.from([0]),
    digestInfo,
  ]);
  return `${input}.${em.toString('base64url')}`;
}

/** An Ed25519 JWK with these public-key bytes. */
const ed = (hex: string) => ({
  kty: 'OKP',
  crv: 'Ed25519',
  x: Buffer.from(hex, 'hex').toString('base64url'),
  alg: 'EdDSA',
});

/** JWKs that would let anyone forge, or cost too much, each under its own `kid` (all must be refused). */
export function weakJwks(): Record<string, Record<string, unknown>> {
  const rsa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
  }).publicKey.export({ format: 'jwk' });
  const rsa3 = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicExponent: 3,
  }).publicKey.export({ format: 'jwk' });
  const huge = randomBytes(2048);
  huge[0] |= 0x80;
  huge[huge.length - 1] |= 1;
  const ec = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  }).publicKey.export({ format: 'jwk' });
  const y = Buffer.from(ec.y!, 'base64url');
  y[31] ^= 1;
  return {
    'rsa-e1': { ...rsa, e: 'AQ', alg: 'RS256' },
    'rsa-e3': { ...rsa3, alg: 'RS256' },
    'rsa-16384': {
      kty: 'RSA',
      n: huge.toString('base64url'),
      e: 'AQAB',
      alg: 'RS256',
    },
    'ed-identity': {
      kty: 'OKP',
      crv: 'Ed25519',
      x: ED25519_IDENTITY_X,
      alg: 'EdDSA',
    },
    'ed-order-2': ed(
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ),
    'ed-order-4': ed(
      '0000000000000000000000000000000000000000000000000000000000000080',
    ),
    'ed-order-8': ed(
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    ),
    'ed-order-8b': ed(
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    ),
    'ed-non-canonical': ed(
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ),
    'ec-off-curve': { ...ec, y: y.toString('base64url'), alg: 'ES256' },
  };
}
