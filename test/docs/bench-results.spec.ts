import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { replaceBenchResults } from '../../bench/results-page.js';
import { runSuites } from '../../bench/run.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const page = readFileSync(join(root, 'docs/benchmarks.md'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'bench-results-'));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The page with one suite's block emptied, to compare what is outside it. */
const outside = (text: string, suite: string) =>
  replaceBenchResults(text, suite, '');

describe('npm run bench -- NAME --write: results go to docs/benchmarks.md', () => {
  it('every suite in bench/ has its results block in docs/benchmarks.md', () => {
    const suites = readdirSync(join(root, 'bench'))
      .filter((f) => f.endsWith('.bench.ts'))
      .map((f) => f.replace('.bench.ts', ''));
    expect(suites.length).toBeGreaterThan(0);
    for (const suite of suites)
      expect(() => replaceBenchResults(page, suite, 'x'), suite).not.toThrow();
  });

  it('replaces only the text between the suite markers, and refuses a page without them', () => {
    const next = replaceBenchResults(page, 'nats', '### new table');
    expect(next).toContain(
      '<!-- bench:nats:results -->\n### new table\n<!-- /bench:nats:results -->',
    );
    expect(outside(next, 'nats')).toBe(outside(page, 'nats'));
    expect(() => replaceBenchResults('# no markers', 'nats', 'x')).toThrow(
      /needs one <!-- bench:nats:results -->/,
    );
  });

  it('a real run of the nats suite (short rounds) writes its tables and conditions, and nothing else', async () => {
    const file = join(tmp, 'benchmarks.md');
    writeFileSync(file, page);
    vi.stubEnv('BENCH_SECONDS', '0.2');
    vi.stubEnv('BENCH_ROUNDS', '1');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await runSuites({
        dir: join(root, 'bench'),
        filters: ['nats'],
        resultsFile: file,
      });
    } finally {
      log.mockRestore();
      vi.unstubAllEnvs();
    }
    const written = readFileSync(file, 'utf8');
    const block = written.slice(
      written.indexOf('<!-- bench:nats:results -->'),
      written.indexOf('<!-- /bench:nats:results -->'),
    );
    expect(block).toMatch(
      /Written by `npm run bench -- nats --write` on \d{4}-\d\d-\d\d: Node \d+\.\d+\.\d+, \d+ × .+, load average \d+\.\d\d at the start, BENCH_ROUNDS=1 BENCH_SECONDS=0\.2\./,
    );
    expect(block).toContain('### NATS user JWT, scoped signing key, Ed25519');
    expect(block).toMatch(
      /\| nest-jwt-issuer `issueUserJwt\(\)` \| [\d,]+ \| \d+\.\d\d \|/,
    );
    expect(outside(written, 'nats')).toBe(outside(page, 'nats'));
  }, 60_000);
});
