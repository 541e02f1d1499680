import { type ChildProcess, spawn } from 'node:child_process';
import { findExecutable, freePort } from './broker-process.js';

/** A redis-server started for a test on 127.0.0.1, persistence off. */
export interface RunningRedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  log(): string;
  /** SIGSTOP: the server keeps its connections but answers nothing (a stalled Redis). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'redis-server is required by the replica tests and was not found on PATH, in /usr/bin, /usr/sbin or ' +
  '/usr/local/bin. Install it: `apt-get install -y redis-server` (Debian/Ubuntu), `brew install redis` (macOS).';

/** Finds the redis-server binary; throws how to install it if absent (never a silent skip). */
export function findRedisServer(dirs?: readonly string[]): string {
  return findExecutable('redis-server', INSTALL_HINT, dirs);
}

/**
 * Starts redis-server on 127.0.0.1 at a free port (or `port`), without persistence, and resolves once it accepts
 * connections.
 */
export async function startRedisServer(
  port?: number,
): Promise<RunningRedisServer> {
  const bin = findRedisServer();
  if (port !== undefined) return launch(bin, port);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(bin, await freePort());
    } catch (e) {
      // Another process took the port between the probe and the bind: try another.
      if (attempt >= 3 || !/in use/i.test((e as Error).message)) throw e;
    }
  }
}

function launch(bin: string, port: number): Promise<RunningRedisServer> {
  const child: ChildProcess = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!running()) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`redis-server did not become ready in 15 s:\n${log}`));
    }, 15_000);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (!log.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      resolve({
        url: `redis://127.0.0.1:${port}`,
        port,
        log: () => log,
        pause: () => child.kill('SIGSTOP'),
        resume: () => child.kill('SIGCONT'),
        stop,
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}) before ready:\n${log}`));
    });
  });
}
