import {
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * The sample's development folder, `sample/.dev/` (gitignored; `SAMPLE_DEV_DIR` moves it, as the tests do). It
 * holds what `npm start` generates without configuration: keys kept across starts (so tools outside the process,
 * such as the CLI, can mint tokens the sample trusts) and server configurations written at each start.
 */
export function sampleDevDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  return resolve(env.SAMPLE_DEV_DIR || 'sample/.dev');
}

/** A path as shown in the sample's log lines: relative to the current folder when inside it. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

/** A file of the development folder. */
export interface DevFile {
  /** Absolute path. */
  path: string;
  /** Its content. */
  text: string;
  /** True when this start created it. */
  created: boolean;
}

/**
 * A development secret kept across starts: the file `name` of the development folder when it exists, else
 * `create()`'s text, written with mode 0600. Concurrent starts agree on one file (it appears whole, never
 * half-written, and the first one wins).
 */
export function keepDevFile(
  name: string,
  create: () => string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): DevFile {
  const dir = sampleDevDir(env);
  const path = join(dir, name);
  try {
    return { path, text: readFileSync(path, 'utf8'), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const text = create();
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  try {
    linkSync(temporary, path); // atomic, and fails when another start was first
    return { path, text, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { path, text: readFileSync(path, 'utf8'), created: false };
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Writes a generated file of the development folder (a server configuration, …), replacing the previous one at
 * each start; mode 0600. Returns its path.
 */
export function writeDevFile(
  name: string,
  text: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const dir = sampleDevDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, path);
  return path;
}
