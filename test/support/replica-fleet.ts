import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', '..');
const FIXTURE = join(root, 'test', 'service-token', 'fixtures', 'replica.mjs');

/** What one replica process saw while calling the verifier. */
export interface ReplicaStats {
  ok: number;
  failed: number;
  failures: unknown[];
  /** Each `kid` it signed with, in order, with when it first used it. */
  kids: { kid: string; at: number }[];
}

/**
 * Compiles the library once (the same tsc build as `npm run build`, into its own folder so that it never races the
 * package test's `dist/`) and returns the file URL of its barrel, for replica processes to import.
 */
export function compileLibrary(folder: string): string {
  const out = join(root, folder);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      out,
      '--declaration',
      'false',
    ],
    { cwd: root, stdio: 'pipe' },
  );
  return pathToFileURL(join(out, 'index.js')).href;
}

/** One replica: a separate Node process running the fixture app with its own environment. */
export class ReplicaProcess {
  readonly output: string[] = [];
  port = 0;
  private readonly child: ChildProcess;
  private readonly unhandled: string[] = [];

  private constructor(child: ChildProcess) {
    this.child = child;
    const keep = (c: Buffer) => this.output.push(c.toString());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (m: { type: string; error?: string }) => {
      if (m.type === 'unhandledRejection') this.unhandled.push(m.error!);
    });
  }

  /** Forks the fixture with `env` (plus the library URL) and waits until it listens. */
  static async start(
    lib: string,
    env: Record<string, string>,
  ): Promise<ReplicaProcess> {
    const child = fork(FIXTURE, [], {
      cwd: root,
      env: { PATH: process.env.PATH, REPLICA_LIB: lib, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    const replica = new ReplicaProcess(child);
    replica.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`replica not ready in 60 s:\n${replica.log()}`)),
        60_000,
      );
      child.on('message', (m: { type: string; port?: number }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m.port!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`replica exited (${code}):\n${replica.log()}`));
      });
    });
    return replica;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything the process logged. */
  log(): string {
    return this.output.join('');
  }

  /** Unhandled rejections the process reported. */
  unhandledRejections(): string[] {
    return [...this.unhandled];
  }

  /** Starts calling `target` continuously with its own token. */
  run(target: string): void {
    this.child.send({ type: 'run', target });
  }

  /** What it saw so far. */
  report(): Promise<ReplicaStats> {
    return this.ask('report');
  }

  /** Stops calling, closes the application (graceful shutdown) and resolves with its final report. */
  async stop(): Promise<ReplicaStats> {
    const exited = new Promise((r) => this.child.once('exit', r));
    const stats = await this.ask('stop');
    await exited;
    return stats;
  }

  /** SIGKILL (cleanup after a failed test). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private ask(type: 'report' | 'stop'): Promise<ReplicaStats> {
    return new Promise((resolve) => {
      const on = (m: { type: string; stats?: ReplicaStats }) => {
        if (m.type !== 'report') return;
        this.child.off('message', on);
        resolve(m.stats!);
      };
      this.child.on('message', on);
      this.child.send({ type });
    });
  }
}

/**
 * A round-robin HTTP load balancer on 127.0.0.1: each request goes to the next backend; a backend that refuses the
 * connection is skipped (as a health-checking balancer would).
 */
export async function startRoundRobinProxy(
  backends: () => readonly number[],
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  let next = 0;
  const server = createServer((req, res) => {
    const ports = backends();
    const attempt = (tries: number) => {
      const port = ports[next++ % ports.length];
      const upstream = request(
        {
          host: '127.0.0.1',
          port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (tries + 1 < ports.length) attempt(tries + 1);
        else res.writeHead(502).end();
      });
      upstream.end();
    };
    attempt(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
