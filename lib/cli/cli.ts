// The commands of the `nest-jwt-issuer` CLI and their dispatch. A thin layer over the library's own functions: each
// command loads only what it uses (the commands that need no Nest service never load Nest), so it starts fast.
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type CliCommand,
  type CliIo,
  describeFailure,
  EXIT,
  helpText,
  parseCommandArgs,
  UsageError,
} from './cli-support.js';
import { check } from './commands/check.js';
import { inspect } from './commands/inspect.js';
import { keysNats, keysService } from './commands/keys.js';
import {
  tokenNats,
  tokenSeald,
  tokenService,
  tokenVonage,
} from './commands/token.js';
import { verify } from './commands/verify.js';

/** Every command, in the order of the help. */
export const COMMANDS: readonly CliCommand[] = [
  keysService,
  keysNats,
  tokenService,
  tokenNats,
  tokenSeald,
  tokenVonage,
  inspect,
  verify,
  check,
];

const MAX_STDIN_BYTES = 1_048_576;

function version(): string {
  try {
    // dist/esm/cli/main.js or dist/cjs/cli/main.js → the package's package.json.
    const file = join(
      dirname(realpathSync(process.argv[1])),
      '..',
      '..',
      '..',
      'package.json',
    );
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.words.join(' ').length));
  return [
    'nest-jwt-issuer: keys, tokens and checks with the same code as the nest-jwt-issuer module.',
    '',
    'Usage: nest-jwt-issuer <command> [options]     (nest-jwt-issuer <command> --help for its options and examples)',
    '',
    'Commands:',
    ...COMMANDS.map(
      (c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`,
    ),
    '',
    'Results go to stdout, messages to stderr. --json on any command prints one JSON document.',
    'Secrets are read from files (--key FILE) or environment variables (--key-env VAR), never from arguments, and',
    'never printed. Exit codes: 0 success, 1 refused or invalid, 2 usage error.',
    '',
  ].join('\n');
}

/** The process's streams and environment. */
export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stdinIsTty: process.stdin.isTTY === true,
    env: process.env,
    stdin: async () => {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        size += (chunk as Buffer).length;
        if (size > MAX_STDIN_BYTES) {
          throw new UsageError(
            'standard input is larger than 1 MiB: not a token',
          );
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/** Runs the CLI on `args` (without `node` and the script); returns the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  if (
    args.length === 0 ||
    args[0] === '--help' ||
    args[0] === '-h' ||
    args[0] === 'help'
  ) {
    (args.length === 0 ? io.err : io.out)(mainHelp());
    return args.length === 0 ? EXIT.USAGE : EXIT.OK;
  }
  if (args[0] === '--version' || args[0] === '-v') {
    io.out(`${version()}\n`);
    return EXIT.OK;
  }
  const command =
    COMMANDS.find((c) => c.words.every((w, i) => args[i] === w)) ?? undefined;
  if (!command) {
    const group = COMMANDS.filter((c) => c.words[0] === args[0]);
    io.err(
      group.length > 0 && group[0].words.length > 1
        ? `nest-jwt-issuer ${args[0]}: give one of ${group.map((c) => c.words[1]).join(', ')} (nest-jwt-issuer ${args[0]} <what> --help)\n`
        : `nest-jwt-issuer: unknown command (commands: ${[...new Set(COMMANDS.map((c) => c.words[0]))].join(', ')}; see nest-jwt-issuer --help)\n`,
    );
    return EXIT.USAGE;
  }
  const rest = args.slice(command.words.length);
  const json = rest.includes('--json');
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      io.out(helpText(command));
      return EXIT.OK;
    }
    return await command.run(values, positionals, io);
  } catch (e) {
    const { exit, message, code } = describeFailure(e);
    const name = `nest-jwt-issuer ${command.words.join(' ')}`;
    io.err(
      exit === EXIT.USAGE
        ? `${name}: ${message}\n(see ${name} --help)\n`
        : `${name}: ${code ? `${code}: ` : ''}${message}\n`,
    );
    if (json) {
      io.out(
        `${JSON.stringify({ ok: false, exit, ...(code ? { code } : {}), message }, null, 2)}\n`,
      );
    }
    return exit;
  }
}
