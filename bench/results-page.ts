import { cpus, loadavg } from 'node:os';

/**
 * Replaces one suite's results in the benchmarks page: the text between `<!-- bench:SUITE:results -->` and
 * `<!-- /bench:SUITE:results -->`, which must both be there once. The page's prose outside the markers is kept.
 *
 * @throws Error when the page has no such block (or more than one).
 */
export function replaceBenchResults(
  page: string,
  suite: string,
  results: string,
): string {
  const open = `<!-- bench:${suite}:results -->`;
  const close = `<!-- /bench:${suite}:results -->`;
  const start = page.indexOf(open);
  const end = page.indexOf(close);
  if (start < 0 || end < start || page.indexOf(open, start + 1) >= 0)
    throw new Error(
      `the benchmarks page needs one ${open} … ${close} block for the suite ${suite}`,
    );
  return `${page.slice(0, start)}${open}\n${results.trim().replace(/\n{3,}/g, '\n\n')}\n${page.slice(end)}`;
}

/** The facts a reader needs to weigh a run's numbers: when, which Node, which CPU, how busy the machine was. */
export function runConditions(command: string, now = new Date()): string {
  const cores = cpus();
  const settings = ['BENCH_ROUNDS', 'BENCH_SECONDS', 'BENCH_CLOCK']
    .filter((name) => process.env[name])
    .map((name) => `${name}=${process.env[name]}`);
  return (
    `Written by \`${command}\` on ${now.toISOString().slice(0, 10)}: Node ${process.version.slice(1)}, ` +
    `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, load average ${loadavg()[0].toFixed(2)} at the ` +
    `start${settings.length > 0 ? `, ${settings.join(' ')}` : ''}.`
  );
}
