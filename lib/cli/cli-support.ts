import {
  closeSync,
  constants,
  fchmodSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { JwtIssuerError } from '../errors.js';

/** Exit codes of the CLI: success, refused or invalid input, usage error. */
export const EXIT = { OK: 0, REFUSED: 1, USAGE: 2 } as const;

/** A mistake in how the command was called (unknown option, missing argument): exit 2, with a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A refusal (unreadable file, invalid key, bad token…): exit 1. Its message never holds a secret. */
export class Refusal extends Error {
  override readonly name = 'Refusal';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Where a command writes: results to `out` (stdout), messages to `err` (stderr), and the input it may read. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Reads all of standard input (for `-`), bounded. */
  stdin(): Promise<string>;
  readonly stdinIsTty: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** One command: its words (`token service`), its options, its help text and what it does. */
export interface CliCommand {
  readonly words: readonly string[];
  readonly summary: string;
  readonly usage: string;
  /** Option lines of the help, e.g. `['--key FILE', 'the private key (PEM or JWK)']`. */
  readonly optionHelp: readonly (readonly [string, string])[];
  readonly examples: readonly string[];
  readonly options: Options;
  /** Positional arguments accepted (at most). @default 0 */
  readonly positionals?: number;
  /** Runs the command; returns the exit code. Loaded lazily: a command's code is imported only when it runs. */
  run(
    values: Record<string, string | boolean | string[] | boolean[] | undefined>,
    positionals: string[],
    io: CliIo,
  ): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies Options;

/** The help text of a command. */
export function helpText(c: CliCommand): string {
  const width = Math.max(
    ...c.optionHelp.map(([flag]) => flag.length),
    '--json'.length,
  );
  const line = (flag: string, text: string) =>
    `  ${flag.padEnd(width)}  ${text}`;
  return [
    `nest-jwt-issuer ${c.words.join(' ')}: ${c.summary}`,
    '',
    `Usage: nest-jwt-issuer ${c.usage}`,
    '',
    'Options:',
    ...c.optionHelp.map(([flag, text]) => line(flag, text)),
    line('--json', 'print the result as one JSON document (for scripts)'),
    line('-h, --help', 'show this help'),
    '',
    'Examples:',
    ...c.examples.map((e) => `  ${e}`),
    '',
    'Exit codes: 0 success, 1 refused or invalid, 2 usage error.',
    '',
  ].join('\n');
}

/** Parses a command's arguments with `util.parseArgs`; a mistake becomes a {@link UsageError}. */
export function parseCommandArgs(
  c: CliCommand,
  args: string[],
): {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
} {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...c.options },
      allowPositionals: true,
      strict: true,
    });
    const allowed = c.positionals ?? 0;
    if (!values.help && positionals.length > allowed) {
      // Not echoed: a stray argument may be a secret pasted in the wrong place.
      throw new UsageError(
        allowed === 0
          ? `takes no arguments, only options (got ${positionals.length}; not shown)`
          : `takes at most ${allowed} argument${allowed === 1 ? '' : 's'} (got ${positionals.length}; not shown)`,
      );
    }
    return { values, positionals };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // parseArgs' messages name the option, never a value that could be a secret… except an unknown option's text.
    const message = (e as Error).message.replace(
      /^Unknown option '([^']*)'.*$/s,
      (_, o: string) => `unknown option '${shown(o)}'`,
    );
    throw new UsageError(message);
  }
}

/** A user-given word, shortened, for an error message (no secret is ever passed here as an argument). */
export function shown(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 37)}...` : clean;
}

/** The value of a string option, `undefined` when absent. */
export function str(
  values: Record<string, unknown>,
  name: string,
): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The values of a repeatable string option. */
export function list(values: Record<string, unknown>, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? (v as string[]) : [];
}

/** A required string option. */
export function required(
  values: Record<string, unknown>,
  name: string,
): string {
  const v = str(values, name);
  if (v === undefined || v === '')
    throw new UsageError(`--${name} is required`);
  return v;
}

/** A whole number of seconds ≥ 1 given as an option. */
export function seconds(
  values: Record<string, unknown>,
  name: string,
): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`--${name} must be a whole number of seconds ≥ 1`);
  }
  return Number(v);
}

// Secret files and tokens are small; a bigger input is a mistake (the wrong file), refused before it is read.
const MAX_INPUT_BYTES = 1_048_576;

/** Reads a small text file; a missing or unreadable file is a {@link Refusal} naming the option and the file. */
export function readTextFile(file: string, what: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const text = readFileSync(fd);
    if (text.length > MAX_INPUT_BYTES) {
      throw new Refusal(
        `${what}: ${file} is larger than 1 MiB; not a key or token file`,
      );
    }
    return text.toString('utf8');
  } catch (e) {
    if (e instanceof Refusal) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new Refusal(
      code === 'ENOENT'
        ? `${what}: ${file} does not exist`
        : code === 'EACCES'
          ? `${what}: ${file} cannot be read (permission denied)`
          : code === 'EISDIR'
            ? `${what}: ${file} is a folder, not a file`
            : `${what}: ${file} cannot be read (${code ?? 'error'})`,
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A secret given as `--NAME FILE` or `--NAME-env VAR` (never as the value itself). Exactly one of the two is
 * needed (unless `optional`); the value is never echoed.
 */
export function readSecret(
  values: Record<string, unknown>,
  name: string,
  io: CliIo,
  optional = false,
): string | undefined {
  const file = str(values, name);
  const variable = str(values, `${name}-env`);
  if (file !== undefined && variable !== undefined) {
    throw new UsageError(`give --${name} FILE or --${name}-env VAR, not both`);
  }
  if (file !== undefined) {
    const text = readTextFile(file, `--${name}`);
    if (text.trim() === '') throw new Refusal(`--${name}: ${file} is empty`);
    return text;
  }
  if (variable !== undefined) {
    const text = io.env[variable];
    if (text === undefined || text.trim() === '') {
      throw new Refusal(
        `--${name}-env: the environment variable ${shown(variable)} is not set or empty`,
      );
    }
    return text;
  }
  if (optional) return undefined;
  throw new UsageError(
    `--${name} FILE or --${name}-env VAR is required (a secret is never taken as an argument)`,
  );
}

/**
 * Writes a file that holds a secret: mode 0600, and never over an existing file unless `force` (then the old file
 * is replaced, and its mode set to 0600 too).
 */
export function writeSecretFile(
  file: string,
  text: string,
  force: boolean,
): void {
  writeNewFile(file, text, force, 0o600);
}

/** Writes a file, refusing to replace an existing one unless `force`. */
export function writeNewFile(
  file: string,
  text: string,
  force: boolean,
  mode = 0o644,
): void {
  let fd: number;
  try {
    fd = openSync(
      file,
      constants.O_WRONLY |
        constants.O_CREAT |
        (force ? constants.O_TRUNC : constants.O_EXCL) |
        (constants.O_NOFOLLOW ?? 0),
      mode,
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Refusal(
      code === 'EEXIST'
        ? `${file} exists; not overwritten (use --force to replace it)`
        : `${file} cannot be written (${code ?? 'error'})`,
    );
  }
  try {
    // A replaced file keeps its old mode through O_TRUNC: set it, so a secret never stays world-readable.
    fchmodSync(fd, mode);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a token from the positional argument, or standard input for `-` (or when no argument and stdin is piped).
 * A NATS `.creds` text gives its JWT (never its seed); a JSON answer `{ "token" }` or `{ "jwt" }` gives that token.
 */
export async function readTokenInput(
  positionals: string[],
  io: CliIo,
): Promise<string> {
  const given = positionals[0];
  let text: string;
  if (given === undefined || given === '-') {
    if (given === undefined && io.stdinIsTty) {
      throw new UsageError('give a token, or - to read it from standard input');
    }
    text = await io.stdin();
  } else {
    text = given;
  }
  text = text.trim();
  // A NATS .creds file: the JWT is the first block; the seed (a secret) is never read.
  const creds =
    /-----BEGIN NATS USER JWT-----\s*([^\s-][^\s]*)\s*------END NATS USER JWT------/.exec(
      text,
    );
  if (creds) text = creds[1];
  // The JSON answer of a token endpoint ({ "token": … } or { "jwt": … }), as the sample's routes give it.
  if (text.startsWith('{')) {
    try {
      const answer = JSON.parse(text) as { token?: unknown; jwt?: unknown };
      const found = answer.token ?? answer.jwt;
      if (typeof found === 'string') text = found.trim();
    } catch {
      // not JSON: reported as a malformed token below
    }
  }
  if (text === '')
    throw new Refusal(
      'no token: the input is empty',
      'ERR_JWT_ISSUER_TOKEN_MISSING',
    );
  return text;
}

/** The message and exit code of an error that ends a command. */
export function describeFailure(e: unknown): {
  exit: number;
  message: string;
  code?: string;
} {
  if (e instanceof UsageError) return { exit: EXIT.USAGE, message: e.message };
  if (e instanceof Refusal)
    return { exit: EXIT.REFUSED, message: e.message, code: e.code };
  if (e instanceof JwtIssuerError) {
    return { exit: EXIT.REFUSED, message: e.message, code: e.code };
  }
  // Library errors are JwtIssuerErrors; anything else is reported by name and message only (no stack: it may
  // quote input).
  const err = e as Error;
  return {
    exit: EXIT.REFUSED,
    message: `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`,
  };
}

/** Prints a result: the JSON document with `--json`, else the human text. */
export function print(
  io: CliIo,
  json: boolean,
  document: unknown,
  human: () => string,
): void {
  io.out(json ? `${JSON.stringify(document, null, 2)}\n` : human());
}
