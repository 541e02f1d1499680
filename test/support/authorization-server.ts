import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  type RunningProcess,
  startProcess,
} from './broker-process.js';

const SCRIPT = fileURLToPath(
  new URL('./oidc-provider.process.mjs', import.meta.url),
);

/** A resource server the authorization server issues JWT access tokens for (RFC 8707 resource indicator). */
export interface ResourceServer {
  /** Scopes it knows, space-separated. */
  scope: string;
  /** Access token lifetime, seconds. @default 60 */
  ttl?: number;
  /** Signing algorithm of its access tokens. @default 'ES256' */
  alg?: string;
}

/** What the authorization server process is started with. */
export interface AuthorizationServerConfig {
  keys: Record<string, unknown>[];
  clients: Record<string, unknown>[];
  resources: Record<string, ResourceServer>;
}

/**
 * oidc-provider in its own process on 127.0.0.1 (port fixed at the first start, so that its issuer stays the same
 * across restarts): `restart` with new keys is a key rotation, `stop` is the provider going down.
 */
export interface AuthorizationServer {
  readonly issuer: string;
  readonly port: number;
  /** (Re)starts the process with this configuration. */
  start(config: AuthorizationServerConfig): Promise<void>;
  stop(): Promise<void>;
  /** The process output so far. */
  log(): string;
  /** A client credentials request by hand (client_secret_basic), for tokens the test presents itself. */
  requestToken(
    clientId: string,
    secret: string,
    params: Record<string, string>,
  ): Promise<string>;
}

/** Creates an authorization server on a free port (not started). */
export async function authorizationServer(): Promise<AuthorizationServer> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  let running: RunningProcess | undefined;
  let output = '';
  return {
    issuer,
    port,
    async start(config) {
      await running?.stop();
      running = await startProcess(
        'oidc-provider',
        process.execPath,
        [SCRIPT],
        {
          ready: /oidc-provider ready/,
          env: {
            ...process.env,
            NODE_ENV: 'test',
            OIDC_PROVIDER_CONFIG: JSON.stringify({ port, ...config }),
          },
        },
      );
    },
    async stop() {
      output += running?.log() ?? '';
      await running?.stop();
      running = undefined;
    },
    log: () => output + (running?.log() ?? ''),
    async requestToken(clientId, secret, params) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          ...params,
        }).toString(),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token) {
        throw new Error(
          `token request failed: ${res.status} ${JSON.stringify(body)}`,
        );
      }
      return body.access_token;
    },
  };
}

/** A fresh private signing JWK for the authorization server. */
export function signingJwk(
  alg: 'ES256' | 'ES384' | 'ES512' | 'PS256' | 'RS256' | 'RS384' | 'RS512',
  kid: string,
): { jwk: Record<string, unknown>; publicKey: KeyObject } {
  const pair = alg.startsWith('ES')
    ? generateKeyPairSync('ec', {
        namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[
          alg as 'ES256'
        ],
      })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    jwk: { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    publicKey: pair.publicKey,
  };
}
