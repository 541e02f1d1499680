#!/usr/bin/env node
// The `nest-jwt-issuer` command (package.json `bin`); see cli.ts and docs/cli.md.
import { processIo, runCli } from './cli.js';

/** Waits until a stream has handed over what was written to it (pipes may be asynchronous). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((done) => stream.write('', () => done()));
}

// A reader that stops early (`… | head -1`) closes the pipe: not an error of the command.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

void (async () => {
  const code = await runCli(process.argv.slice(2), processIo());
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  // Exits at once: a JWKS fetch may leave a keep-alive socket open.
  process.exit(code);
})();
