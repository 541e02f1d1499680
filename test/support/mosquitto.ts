import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, startProcess } from './broker-process.js';
import { freePort } from './broker-process.js';

/** A private mosquitto (MQTT 5 broker) started for a test on 127.0.0.1. */
export interface RunningMosquitto {
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  port: number;
  log(): string;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'mosquitto is required by the MQTT transport tests and was not found on PATH, in /usr/sbin, /usr/bin, ' +
  '/usr/local/sbin or /usr/local/bin. Install it: `apt-get install -y mosquitto` (Debian/Ubuntu), ' +
  '`brew install mosquitto` (macOS).';

/** Finds the mosquitto binary; throws how to install it if absent (never a silent skip). */
export function findMosquitto(dirs?: readonly string[]): string {
  return findExecutable('mosquitto', INSTALL_HINT, dirs);
}

/**
 * Starts mosquitto with a generated configuration (one listener on 127.0.0.1 at a free port, anonymous clients, no
 * persistence) and resolves once it listens.
 */
export async function startMosquitto(): Promise<RunningMosquitto> {
  const bin = findMosquitto();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mosquitto-test-'));
    const config = join(dir, 'mosquitto.conf');
    writeFileSync(
      config,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information', // `running` is an information line
        '',
      ].join('\n'),
    );
    const cleanup = () => rmSync(dir, { recursive: true, force: true });
    try {
      const broker = await startProcess('mosquitto', bin, ['-c', config], {
        ready: / running$/m,
      });
      return {
        url: `mqtt://127.0.0.1:${port}`,
        port,
        log: broker.log,
        stop: async () => {
          await broker.stop();
          cleanup();
        },
      };
    } catch (e) {
      cleanup();
      // Another process took the port between the probe and the bind: try another.
      if (attempt >= 3 || !/in use/i.test((e as Error).message)) throw e;
    }
  }
}
