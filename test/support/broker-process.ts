import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * Finds an executable in `dirs` (PATH first, then the usual system folders); throws `hint` (how to install it)
 * when absent, so a test without its broker fails and says why instead of skipping silently.
 */
export function findExecutable(
  name: string,
  hint: string,
  dirs: readonly string[] = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    '/usr/sbin',
    '/usr/bin',
    '/usr/local/sbin',
    '/usr/local/bin',
  ],
): string {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(hint);
}

/** A server process started for a test: its output so far, and a stop that waits for it to exit. */
export interface RunningProcess {
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `bin` and resolves once its output (stdout and stderr) matches `ready`; rejects with the output when it
 * exits first or `timeoutMs` passes. `stop()` sends SIGTERM, then SIGKILL after `stopTimeoutMs`, and waits for the
 * exit. The process is also killed if the test process exits without stopping it.
 */
export function startProcess(
  name: string,
  bin: string,
  args: readonly string[],
  options: {
    ready: RegExp;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs?: number;
    stopTimeoutMs?: number;
  },
): Promise<RunningProcess> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  let log = '';
  const collect = (chunk: Buffer): void => {
    log += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const running = () => child.exitCode === null && child.signalCode === null;
  const killOnExit = (): void => {
    if (running()) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (!running()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(
      () => running() && child.kill('SIGKILL'),
      options.stopTimeoutMs ?? 10_000,
    );
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${name} ${why}:\n${log}`)));
    };
    const timer = setTimeout(
      () => fail(`did not become ready in ${timeoutMs / 1000} s`),
      timeoutMs,
    );
    const poll = setInterval(() => {
      if (settled || !options.ready.test(log)) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ child, log: () => log, stop });
    }, 20);
    child.once('error', (e) => fail(`could not start (${e.message})`));
    child.once('exit', (code, signal) =>
      fail(`exited (${code ?? signal}) before ready`),
    );
  });
}

/** A port free on 127.0.0.1 right now, for servers that cannot pick one themselves or report the one they bound. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
