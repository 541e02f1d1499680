import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One contender in a comparison: a name and one operation (sync or async). */
export interface Contender {
  name: string;
  fn: () => unknown;
}

/** A measured contender. */
export interface BenchResult {
  name: string;
  opsPerSec: number;
  /** opsPerSec divided by the baseline's. */
  ratio: number;
}

const seconds = Number(process.env.BENCH_SECONDS ?? 1.5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
// BENCH_CLOCK=cpu counts this process's CPU time instead of wall time: on a machine shared with other work, time
// spent descheduled no longer counts against whichever contender happened to be running.
const cpuClock = process.env.BENCH_CLOCK === 'cpu';
/** Milliseconds on the bench's clock: wall time, or this process's CPU time with `BENCH_CLOCK=cpu`. */
export function clock(): number {
  if (!cpuClock) return performance.now();
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * V8's full collection, exposed at run time: called before every timed run, so that no contender pays for the
 * garbage, or the marking work, that the one before it left (a slow contender that allocates much, run just before
 * another, otherwise costs that other a few percent).
 */
const collectGarbage = ((): (() => void) => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Runs `fn` for `ms` milliseconds on the bench's clock and returns its rate (operations per second). */
async function timed(
  fn: () => unknown,
  isAsync: boolean,
  ms: number,
): Promise<number> {
  let ops = 0;
  const start = clock();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 16; i++) {
      if (isAsync) await fn();
      else fn();
    }
    ops += 16;
    now = clock();
  }
  return ops / ((now - start) / 1000);
}

/**
 * One timed run of `fn`, after a full collection and an untimed tenth of the run: what the contender before it left
 * (garbage, background sweeping, cold caches) is not counted against this one.
 */
async function runFor(fn: () => unknown, ms: number): Promise<number> {
  // Detect async operations once; await them one after another (no overlap).
  const first = fn();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  collectGarbage();
  await timed(fn, isAsync, ms / 10);
  return timed(fn, isAsync, ms);
}

/** Options of {@link compare}. */
export interface CompareOptions {
  /** Rounds (each contender runs once per round). @default BENCH_ROUNDS or 3 */
  rounds?: number;
  /** Total time per contender, in seconds, spread over the rounds. @default BENCH_SECONDS or 1.5 */
  seconds?: number;
}

/**
 * Measures contenders side by side in this process. Rounds are interleaved, in alternating order (A B C, C B A, …),
 * so that machine drift and any cost one contender leaves behind (garbage, a busy server) affect every contender
 * alike. Ops/s is each contender's best round; its ratio is the median, over the rounds, of its ops/s divided by the
 * baseline's in the same round. The first contender is the baseline.
 */
export async function compare(
  title: string,
  contenders: Contender[],
  options: CompareOptions = {},
): Promise<BenchResult[]> {
  const roundCount = options.rounds ?? rounds;
  const roundMs = ((options.seconds ?? seconds) * 1000) / roundCount;
  const ops: number[][] = contenders.map(() => []);
  for (const c of contenders) await runFor(c.fn, 100); // warm-up
  const order = contenders.map((_, i) => i);
  for (let r = 0; r < roundCount; r++) {
    for (const i of r % 2 === 0 ? order : order.toReversed()) {
      ops[i].push(await runFor(contenders[i].fn, roundMs));
    }
  }
  const results = contenders.map((c, i) => ({
    name: c.name,
    opsPerSec: Math.max(...ops[i]),
    ratio: median(ops[i].map((o, r) => o / ops[0][r])),
  }));
  printTable(title, results);
  return results;
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return (
    (sorted[Math.floor((sorted.length - 1) / 2)] +
      sorted[Math.ceil((sorted.length - 1) / 2)]) /
    2
  );
}

/** Prints a markdown table (`npm run bench -- NAME --write` puts this output into docs/benchmarks.md). */
export function printTable(title: string, results: BenchResult[]): void {
  const lines = [
    `\n### ${title}\n`,
    '| contender | ops/s | × baseline |',
    '|---|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.ratio.toFixed(2)} |`,
    ),
  ];
  console.log(lines.join('\n'));
}
