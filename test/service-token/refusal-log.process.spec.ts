import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileLibrary } from '../support/replica-fleet.js';

// The refusal log's window timer in a real process: unref'd (a pending window never keeps a process alive) and
// stopped by app.close(), which writes the pending summary. Each run is a separate Node process that must exit by
// itself (the fixture never calls process.exit).

const root = join(import.meta.dirname, '..', '..');
const BUILD = '.refusal-log-test';
const FIXTURE = join(import.meta.dirname, 'fixtures', 'refusal-flood.mjs');

/** Runs the fixture; resolves with its exit code, how long it took and what it printed (killed after 60 s). */
function run(
  lib: string,
  mode: 'close' | 'abandon',
): Promise<{ code: number | null; ms: number; output: string }> {
  const started = Date.now();
  const child = fork(FIXTURE, [], {
    cwd: root,
    env: { PATH: process.env.PATH, REFUSAL_LIB: lib, REFUSAL_MODE: mode },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: [],
  });
  // The IPC channel would keep the child alive: only stdio is used.
  child.disconnect();
  const chunks: string[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => chunks.push(c.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, ms: Date.now() - started, output: chunks.join('') });
    });
  });
}

const lines = (output: string, what: RegExp) =>
  output.split('\n').filter((l) => what.test(l));

describe('the refusal log timer in a real process', () => {
  let lib: string;
  beforeAll(() => {
    lib = compileLibrary(BUILD);
  }, 120_000);
  afterAll(() => {
    rmSync(join(root, BUILD), { recursive: true, force: true });
  });

  it('app.close() writes the pending summary and stops the timer: the process exits by itself at once', async () => {
    const { code, output } = await run(lib, 'close');
    expect(output).toContain(`STATUSES ${Array(50).fill(401).join(',')}`);
    expect(output).toContain('CLOSED');
    expect(code).toBe(0);
    expect(lines(output, /Refused service token on GET \/ping/)).toHaveLength(
      3,
    );
    const summary = lines(output, /more refused calls/);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatch(
      /47 more refused calls in the last \d+ s not logged \(ERR_JWT_ISSUER_TOKEN_(MISSING|MALFORMED) (23|24), ERR_JWT_ISSUER_TOKEN_(MISSING|MALFORMED) (23|24)\)/,
    );
  }, 90_000);

  it('an app left open with its hour-long window pending (HTTP server stopped) does not keep the process alive', async () => {
    const { code, ms, output } = await run(lib, 'abandon');
    expect(output).toContain('ABANDONED');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(55_000);
    expect(lines(output, /Refused service token on GET \/ping/)).toHaveLength(
      3,
    );
  }, 90_000);
});
