import { performance } from 'node:perf_hooks';

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

async function runFor(fn: () => unknown, ms: number): Promise<number> {
  // Detect async operations once; await them one after another (no overlap).
  const first = fn();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  let ops = 1;
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
 * Measures contenders side by side in this process. Rounds are interleaved (A B C, A B C, …) so that machine drift
 * affects every contender alike; each contender's best round counts. The first contender is the baseline.
 */
export async function compare(
  title: string,
  contenders: Contender[],
): Promise<BenchResult[]> {
  const best = new Map<string, number>();
  for (const c of contenders) await runFor(c.fn, 100); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      const ops = await runFor(c.fn, (seconds * 1000) / rounds);
      best.set(c.name, Math.max(best.get(c.name) ?? 0, ops));
    }
  }
  const base = best.get(contenders[0].name)!;
  const results = contenders.map((c) => ({
    name: c.name,
    opsPerSec: best.get(c.name)!,
    ratio: best.get(c.name)! / base,
  }));
  printTable(title, results);
  return results;
}

/** Prints a markdown table (the README's benchmark tables are pasted from this output). */
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
