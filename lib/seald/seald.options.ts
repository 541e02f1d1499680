import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import { readOptions } from '../config/read-options.js';
import { loadSecretKey } from '../common/keys.js';
import {
  type ResolvedSealdJwtOptions,
  SEALD_OPTIONS,
} from './interfaces/seald-options.interface.js';

export { SEALD_PERMISSION_VALUES } from './interfaces/seald-options.interface.js';

/** Validates the 'seald' section; every problem goes to `problems`. */
export function normalizeSealdJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedSealdJwtOptions | undefined {
  void context;
  const v = readOptions('seald', raw, SEALD_OPTIONS, problems)?.complete();
  if (!v) return undefined;
  const { secretId, permissions, appId } = v;
  return { secretId, key: loadSecretKey(v.secret), permissions, appId };
}
