import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { NatsCalloutStats } from '../../../lib/index.js';
import type { ConfigModeSetup } from '../../support/nats-callout.js';
import { NATS_AUDIENCE, PERMISSIONS, SERVICE_ISSUER } from './callout-app.js';

const root = join(import.meta.dirname, '..', '..', '..');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'responder.mjs');

/** A responder in its own process, configured by environment variables only. */
export class Responder {
  readonly output: string[] = [];
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (c: Buffer) => this.output.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => this.output.push(c.toString()));
  }

  static async start(
    lib: string,
    env: Record<string, string>,
  ): Promise<Responder> {
    const child = fork(FIXTURE, [], {
      cwd: root,
      env: { PATH: process.env.PATH, RESPONDER_LIB: lib, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    const r = new Responder(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`responder not ready:\n${r.output.join('')}`)),
        30_000,
      );
      child.on('message', (m: { type: string }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`responder exited ${code}:\n${r.output.join('')}`)),
      );
    });
    return r;
  }

  stats(): Promise<NatsCalloutStats> {
    return new Promise((resolve) => {
      const on = (m: { type: string; stats?: NatsCalloutStats }) => {
        if (m.type === 'stats') {
          this.child.off('message', on);
          resolve(m.stats!);
        }
      };
      this.child.on('message', on);
      this.child.send('stats');
    });
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return Promise.resolve();
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill(signal);
    return exited;
  }

  log(): string {
    return this.output.join('');
  }
}

/** The environment of a config-mode responder process (service-token authorizer, the tests' permissions). */
export function responderEnv(
  url: string,
  setup: ConfigModeSetup,
  pem: string,
): Record<string, string> {
  return {
    JWT_ISSUER_NATS_CALLOUT_SERVERS: url,
    JWT_ISSUER_NATS_CALLOUT_USER: setup.calloutUser,
    JWT_ISSUER_NATS_CALLOUT_PASS: setup.calloutPass,
    JWT_ISSUER_NATS_CALLOUT_ISSUER_KEY: setup.issuerSeed,
    ...(setup.xkey ? { JWT_ISSUER_NATS_CALLOUT_XKEY: setup.xkey.seed } : {}),
    JWT_ISSUER_NATS_CALLOUT_ACCOUNT: 'APP',
    JWT_ISSUER_NATS_CALLOUT_AUTHORIZER: 'service-token',
    JWT_ISSUER_NATS_CALLOUT_AUDIENCE: NATS_AUDIENCE,
    JWT_ISSUER_NATS_CALLOUT_TAG_CLAIMS: 'team',
    JWT_ISSUER_NATS_CALLOUT_PERMISSIONS: JSON.stringify(PERMISSIONS),
    JWT_ISSUER_SERVICE_NAME: 'auth',
    JWT_ISSUER_SERVICE_ISSUER: SERVICE_ISSUER,
    JWT_ISSUER_SERVICE_ALGORITHM: 'EdDSA',
    JWT_ISSUER_SERVICE_PRIVATE_KEY: pem,
    JWT_ISSUER_SERVICE_ACCEPT_OWN_TOKENS: 'true',
    JWT_ISSUER_SERVICE_PUBLISH_JWKS: 'false',
  };
}
