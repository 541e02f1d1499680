import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIssuerConfigError } from '../../lib/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
// The sample compiled as `npm start` compiles it (tsconfig.sample.json), into a folder of this repository (so that
// node_modules resolves) of its own (so that it never races another test or a running `npm start` on dist-sample/).
const build = join(root, '.sample-start-test', String(process.pid));
let cwd: string;

/** The environment of a fresh shell: no JWT_ISSUER_* variable, no NODE_ENV, no colours. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
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

/** Starts the sample; resolves with its output when it exits, or when `until` matches (then it is stopped). */
function runSample(
  env: Record<string, string>,
  until?: RegExp,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [join(build, 'sample/main.js')],
      { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the sample did not finish in time:\n${out}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (until?.test(out)) child.kill('SIGTERM');
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

beforeAll(() => {
  mkdirSync(build, { recursive: true });
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.sample.json'),
      '--outDir',
      build,
    ],
    { cwd: root, stdio: 'pipe' },
  );
  cwd = mkdtempSync(join(tmpdir(), 'sample-start-'));
}, 120_000);

afterAll(() => {
  rmSync(build, { recursive: true, force: true });
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe('what the sample prints when it starts', () => {
  it('a misconfigured start lists each of its 10 problems once (the problems are not printed a second time)', async () => {
    const { code, out } = await runSample({ NODE_ENV: 'production' });
    expect(code).not.toBe(0);
    expect(out).toContain(
      'JwtIssuerConfigError: Invalid nest-jwt-issuer configuration (10 problems):',
    );
    for (const env of [
      'JWT_ISSUER_NATS_ACCOUNT_ID',
      'JWT_ISSUER_NATS_SIGNING_KEY',
      'JWT_ISSUER_SEALD_SECRET_ID',
      'JWT_ISSUER_SEALD_SECRET',
      'JWT_ISSUER_VONAGE_APPLICATION_ID',
      'JWT_ISSUER_VONAGE_PRIVATE_KEY',
      'JWT_ISSUER_SERVICE_NAME',
      'JWT_ISSUER_SERVICE_ISSUER',
      'JWT_ISSUER_SERVICE_PRIVATE_KEY',
    ])
      expect(out.split(`(${env})`).length - 1, env).toBe(1);
    const lines = out.trimEnd().split('\n');
    // Nest's two start lines, the error's title and its 10 problem lines, the stack (10 frames), `code`: 25 lines.
    // Before, the `problems` array was printed again as an object: 77 lines (85 through npm start).
    expect(lines.length).toBeLessThanOrEqual(30);
  });

  it('a development start logs ConfigModule once', async () => {
    const { out } = await runSample(
      {
        PORT: '0',
        SAMPLE_NATS_SERVER_CONF: join(cwd, 'nats-server.conf'),
      },
      /Listening on http/,
    );
    expect(out).toMatch(/Listening on http/);
    expect(out.split('ConfigModule dependencies initialized').length - 1).toBe(
      1,
    );
  });
});

describe('JwtIssuerConfigError as loggers print it', () => {
  it('util.inspect shows each problem once, and error.problems still lists them', () => {
    const error = new JwtIssuerConfigError([
      {
        path: 'nats.accountId',
        env: 'JWT_ISSUER_NATS_ACCOUNT_ID',
        message: 'is required',
      },
      {
        path: 'seald.secret',
        env: 'JWT_ISSUER_SEALD_SECRET',
        message: 'is required',
      },
    ]);
    const printed = inspect(error);
    expect(printed.split('JWT_ISSUER_NATS_ACCOUNT_ID').length - 1).toBe(1);
    expect(printed.split('JWT_ISSUER_SEALD_SECRET').length - 1).toBe(1);
    expect(error.problems.map((p) => p.path)).toEqual([
      'nats.accountId',
      'seald.secret',
    ]);
    expect(Object.keys(error)).not.toContain('problems');
  });
});
