import 'reflect-metadata';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { replaceBenchResults, runConditions } from './results-page.js';

/** Options of {@link runSuites}. */
export interface RunSuitesOptions {
  /** Folder of the suites (`*.bench.js` once compiled, `*.bench.ts` under vitest). */
  dir: string;
  /** Run only the suites whose name contains one of these. @default every suite */
  filters?: readonly string[];
  /** The benchmarks page to write each suite's results into; absent: print only. */
  resultsFile?: string;
}

/**
 * Runs the suites one after another in this process. Everything a suite prints goes to stdout and, with
 * `resultsFile`, also replaces that suite's results block in the page (`<!-- bench:NAME:results -->`), headed by
 * the run's conditions. The page is written after each suite, so an interrupted run keeps what it measured.
 */
export async function runSuites(options: RunSuitesOptions): Promise<void> {
  const filters = options.filters ?? [];
  const all = (await readdir(options.dir)).filter((f) =>
    /\.bench\.[jt]s$/.test(f),
  );
  const nameOf = (f: string) => f.replace(/\.bench\.[jt]s$/, '');
  // An argument that names a suite exactly picks that suite alone (`nats`, not also `nats-callout`); any other
  // argument picks every suite whose name contains it.
  const picks = (f: string, x: string) =>
    all.some((g) => nameOf(g) === x) ? nameOf(f) === x : f.includes(x);
  const suites = all
    .filter((f) => filters.length === 0 || filters.some((x) => picks(f, x)))
    .toSorted();
  console.log(
    `# nest-jwt-issuer benchmarks (node ${process.version}, ${process.arch})`,
  );
  for (const file of suites) {
    const name = file.replace(/\.bench\.[jt]s$/, '');
    const conditions = runConditions(`npm run bench -- ${name} --write`);
    const printed: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
      log(...args);
    };
    try {
      const suite = (await import(
        pathToFileURL(join(options.dir, file)).href
      )) as { default: () => Promise<void> };
      await suite.default();
    } finally {
      console.log = log;
    }
    if (options.resultsFile) {
      const page = await readFile(options.resultsFile, 'utf8');
      await writeFile(
        options.resultsFile,
        replaceBenchResults(
          page,
          name,
          `${conditions}\n\n${printed.join('\n')}`,
        ),
      );
      console.log(`\n(${name}: results written to ${options.resultsFile})`);
    }
  }
}

/**
 * `npm run bench [-- NAME…] [--write]`: runs every `*.bench.js` suite next to this file (compiled from
 * `bench/*.bench.ts`), or the one an argument names exactly, or those whose name contains it; `--write` also puts each suite's results
 * into docs/benchmarks.md (`BENCH_RESULTS_FILE` names another page).
 */
async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  await runSuites({
    dir: here,
    filters: args.filter((a) => a !== '--write'),
    resultsFile: write
      ? (process.env.BENCH_RESULTS_FILE ??
        join(here, '../../docs/benchmarks.md'))
      : undefined,
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  await main();
