import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtIssuerConfigError } from '../../lib/index.js';
import {
  buildSample,
  startSample,
  waitForOutput,
} from '../support/sample-process.js';

let sample: ReturnType<typeof buildSample>;
let cwd: string;

/** Runs the sample to its exit, or until `until` appears in its output (then stops it). */
async function runSample(
  env: Record<string, string>,
  until?: RegExp,
): Promise<{ code: number | null; out: string }> {
  const running = startSample(sample.dir, cwd, env);
  if (until) await waitForOutput(running, until);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 60_000);
  const code = until ? await running.stop() : await running.exited;
  clearTimeout(timer);
  return { code, out: running.output() };
}

beforeAll(() => {
  sample = buildSample('start-logs');
  cwd = mkdtempSync(join(tmpdir(), 'sample-start-'));
}, 120_000);

afterAll(() => {
  sample?.remove();
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
        SAMPLE_DEV_DIR: join(cwd, 'dev'),
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
