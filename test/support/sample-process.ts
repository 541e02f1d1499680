import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The sample compiled as `npm start` compiles it (tsconfig.sample.json), into a folder of this repository (so that
 * node_modules resolves) of its own (so that it never races another test or a running `npm start` on dist-sample/).
 * Returns the folder and a function that removes it.
 */
export function buildSample(name: string): {
  dir: string;
  remove: () => void;
} {
  const dir = join(root, '.sample-start-test', `${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.sample.json'),
      '--outDir',
      dir,
    ],
    { cwd: root, stdio: 'pipe' },
  );
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The environment of a fresh shell: no JWT_ISSUER_* variable, no NODE_ENV, no colours, plus `extra`. */
export function freshShellEnv(
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (
      !k.startsWith('JWT_ISSUER_') &&
      k !== 'NODE_ENV' &&
      !k.startsWith('VITEST')
    )
      env[k] = v;
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** A sample process: what it printed so far, and a stop that waits for its exit. */
export interface SampleProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited (after `stop`, or by itself). */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts the compiled sample (`node <dir>/sample/main.js`) in `cwd` with a fresh shell's environment plus `env`. */
export function startSample(
  dir: string,
  cwd: string,
  env: Record<string, string>,
): SampleProcess {
  const child = spawn(process.execPath, [join(dir, 'sample/main.js')], {
    cwd,
    env: freshShellEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => resolve(code)),
  );
  return {
    child,
    output: () => out,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null)
        child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until `pattern` appears in the process's output; fails when it exits first or after `timeoutMs`. */
export async function waitForOutput(
  sample: SampleProcess,
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = sample.output().match(pattern);
    if (match) return match;
    if (sample.child.exitCode !== null)
      throw new Error(
        `the sample exited before ${pattern}:\n${sample.output()}`,
      );
    if (Date.now() > deadline) {
      await sample.stop();
      throw new Error(
        `no ${pattern} after ${timeoutMs} ms:\n${sample.output()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
