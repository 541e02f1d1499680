import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './broker-process.js';

/** A nats-server started for a test on 127.0.0.1. */
export interface RunningNatsServer {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Everything the server logged so far (debug on: why each authentication failed). */
  log(): string;
  /** Resolves with the log once it matches `pattern` (log lines may arrive after the client saw the outcome). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'nats-server is required by the NATS tests and was not found on PATH, in /usr/sbin or in /usr/local/bin. ' +
  'Install it: `apt-get install -y nats-server` (Debian/Ubuntu), `brew install nats-server` (macOS), ' +
  'or a release from https://github.com/nats-io/nats-server/releases.';

/** Finds the nats-server binary on PATH, then in /usr/sbin and /usr/local/bin; throws how to install it if absent. */
export function findNatsServer(dirs?: readonly string[]): string {
  return findExecutable('nats-server', INSTALL_HINT, dirs);
}

const INSTALL_HINT_2_10 =
  'The NATS auth-callout tests need nats-server 2.10 or later (Debian 12 ships 2.9.10). Fetch it into the cache ' +
  'folder without touching the system: `scripts/fetch-nats-server.sh` (what .ci/run does), or point ' +
  'NATS_SERVER_2_10 at a nats-server ≥ 2.10 binary (a release from https://github.com/nats-io/nats-server/releases, ' +
  '`brew install nats-server`).';

function serverVersion(bin: string): number[] {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
    const m = /v(\d+)\.(\d+)\.(\d+)/.exec(out);
    return m ? m.slice(1).map(Number) : [];
  } catch {
    return [];
  }
}

let found210: string | undefined;

/**
 * Finds a nats-server ≥ 2.10 (auth callout): `NATS_SERVER_2_10`, then the cache folder `scripts/fetch-nats-server.sh`
 * fills (`${XDG_CACHE_HOME:-~/.cache}/nest-jwt-issuer/nats-server-2.10.27`), then the nats-server on PATH when it is
 * recent enough; throws how to get one if none is.
 */
export function findNatsServer210(): string {
  if (found210) return found210;
  const cache = join(
    process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
    'nest-jwt-issuer',
    'nats-server-2.10.27',
    'usr',
    'sbin',
  );
  const candidates: string[] = [];
  if (process.env.NATS_SERVER_2_10)
    candidates.push(process.env.NATS_SERVER_2_10);
  try {
    candidates.push(findExecutable('nats-server', '', [cache]));
  } catch {
    // not fetched
  }
  try {
    candidates.push(findNatsServer());
  } catch {
    // none on PATH
  }
  for (const bin of candidates) {
    const [major = 0, minor = 0] = serverVersion(bin);
    if (major > 2 || (major === 2 && minor >= 10)) return (found210 = bin);
  }
  throw new Error(INSTALL_HINT_2_10);
}

/**
 * Starts nats-server with a configuration text (write `port: -1` to get a free port) and resolves once it is ready.
 * The port is read from the log line `Listening for client connections on 127.0.0.1:<port>`. `bin` picks the binary
 * (e.g. {@link findNatsServer210}). @default findNatsServer()
 */
export async function startNatsServer(
  config: string,
  extraArgs: string[] = [],
  bin: string = findNatsServer(), // fails with the install hint before creating anything
): Promise<RunningNatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nats-test-'));
  const file = join(dir, 'nats-server.conf');
  writeFileSync(file, config, { mode: 0o600 });
  return startNatsServerWithFile(
    file,
    extraArgs,
    () => rmSync(dir, { recursive: true, force: true }),
    bin,
  );
}

/** Starts nats-server on an existing configuration file (`-c file` plus `extraArgs`). */
export function startNatsServerWithFile(
  file: string,
  extraArgs: string[] = [],
  cleanup: () => void = () => undefined,
  bin: string = findNatsServer(),
): Promise<RunningNatsServer> {
  const child: ChildProcess = spawn(bin, ['-c', file, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let port = 0;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    cleanup();
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`nats-server did not become ready in 15 s:\n${log}`));
    }, 15_000);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      const m = /Listening for client connections on [\d.]+:(\d+)/.exec(log);
      if (m) port = Number(m[1]);
      if (port && log.includes('Server is ready')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
        child.stderr?.off('data', onData);
        child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
        const waitForLog = async (
          pattern: RegExp,
          timeoutMs = 5000,
        ): Promise<string> => {
          const until = Date.now() + timeoutMs;
          while (!pattern.test(log)) {
            if (Date.now() > until) {
              throw new Error(
                `nats-server log never matched ${pattern}:\n${log}`,
              );
            }
            await new Promise((r) => setTimeout(r, 20));
          }
          return log;
        };
        resolve({
          url: `nats://127.0.0.1:${port}`,
          port,
          log: () => log,
          waitForLog,
          stop,
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      cleanup();
      reject(e);
    });
    child.once('exit', (code) => {
      if (!port) {
        clearTimeout(timer);
        cleanup();
        reject(new Error(`nats-server exited (${code}) before ready:\n${log}`));
      }
    });
  });
}
