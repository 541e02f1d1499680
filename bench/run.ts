import 'reflect-metadata';
import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Runs every `*.bench.js` suite next to this file (compiled from `bench/*.bench.ts`), in one process, or only those
 * whose name contains one of the command-line arguments: `npm run bench -- nats`.
 */
async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const filters = process.argv.slice(2);
  const suites = (await readdir(here))
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .toSorted();
  console.log(
    `# nest-jwt-issuer benchmarks (node ${process.version}, ${process.arch})`,
  );
  for (const file of suites) {
    const suite = (await import(pathToFileURL(`${here}/${file}`).href)) as {
      default: () => Promise<void>;
    };
    await suite.default();
  }
}

await main();
