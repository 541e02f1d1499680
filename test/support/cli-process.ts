import { execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '..', '..');

/**
 * Builds the library (ESM, as `npm run build` does) into `.cli-test/<name>/` inside the repository (so the build
 * resolves the repository's node_modules, as an installed package resolves its consumer's) and returns the path of
 * the CLI's entry point, `…/cli/main.js`: the file the `nest-jwt-issuer` bin runs.
 */
export async function buildCli(name: string): Promise<{
  main: string;
  remove(): void;
}> {
  const out = join(root, '.cli-test', name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await promisify(execFile)(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(out, 'esm'),
      '--sourceMap',
      'false',
      '--inlineSources',
      'false',
      '--declaration',
      'false',
    ],
    { cwd: root, timeout: 240_000 },
  );
  return {
    main: join(out, 'esm', 'cli', 'main.js'),
    remove: () => rmSync(out, { recursive: true, force: true }),
  };
}

/** What a finished CLI process left. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run in ms. */
  ms: number;
}

/** Runs `node <main> ...args` as a user would, with `stdin` piped in, and resolves when it exits (killed at 30 s). */
export function runCliProcess(
  main: string,
  args: readonly string[],
  options: {
    cwd?: string;
    env?: Record<string, string | undefined>;
    stdin?: string;
    timeoutMs?: number;
  } = {},
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      cwd: options.cwd ?? root,
      env: { ...cleanEnv(), ...options.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(
      () => child.kill('SIGKILL'),
      options.timeoutMs ?? 30_000,
    );
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    // A command that never reads its input may exit before the write lands: EPIPE then says nothing about it.
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** The test process's environment without any `JWT_ISSUER_*` variable (each test gives the ones it means). */
export function cleanEnv(): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('JWT_ISSUER_')),
  );
}
