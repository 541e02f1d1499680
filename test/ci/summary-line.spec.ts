import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs vitest as `npm test` does (the project's configuration), in a child process, on some fixture files. */
function runVitest(...fixtures: string[]): {
  status: number | null;
  out: string;
  last: string;
} {
  const result = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'test/ci/fixtures/vitest.fixtures.mts',
      ...fixtures.map((f) => `test/ci/fixtures/${f}.fixture.ts`),
    ],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: 60_000,
    },
  );
  const out = `${result.stdout}${result.stderr}`;
  const lines = result.stdout.trim().split('\n');
  return { status: result.status, out, last: lines[lines.length - 1] };
}

describe('the closing line of a run (vitest.config.mts summary reporter)', () => {
  it('counts a file that fails at import as a failure', () => {
    const run = runVitest('import-error', 'passing');
    expect(run.status).toBe(1);
    expect(run.last).toBe('1 passed, 1 failed, 1 skipped');
    expect(run.out).toContain(
      'Failed outside a test (import, set-up or tear-down error): test/ci/fixtures/import-error.fixture.ts',
    );
  });

  it('counts a beforeAll that throws as a failure (its tests did not run: skipped)', () => {
    const run = runVitest('before-all-error', 'passing');
    expect(run.status).toBe(1);
    expect(run.last).toBe('1 passed, 1 failed, 3 skipped');
    expect(run.out).toContain('test/ci/fixtures/before-all-error.fixture.ts');
  });

  it('counts both kinds together, and a clean run says 0 failed', () => {
    expect(runVitest('import-error', 'before-all-error', 'passing').last).toBe(
      '1 passed, 2 failed, 3 skipped',
    );
    const clean = runVitest('passing');
    expect(clean.status).toBe(0);
    expect(clean.last).toBe('1 passed, 0 failed, 1 skipped');
    expect(clean.out).not.toContain('Failed outside a test');
  });
});
