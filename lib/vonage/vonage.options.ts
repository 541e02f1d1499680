import type { KeyObject } from 'node:crypto';
import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import { INVALID, type Invalid } from '../config/option-fields.js';
import { readOptions } from '../config/read-options.js';
import {
  assertKeyFitsAlgorithm,
  loadPrivateKey,
  type PrivateKeyInput,
} from '../common/keys.js';
import {
  type ResolvedVonageJwtOptions,
  VONAGE_OPTIONS,
} from './interfaces/vonage-options.interface.js';

export { VONAGE_MAX_TTL } from './interfaces/vonage-options.interface.js';

/** PEM text pasted into a one-line variable often carries `\n` escapes: turn them into line breaks. */
function unescapePem(value: string): string {
  const text = value.trim();
  return text.startsWith('-----BEGIN') &&
    !text.includes('\n') &&
    text.includes('\\n')
    ? text.replace(/\\n/g, '\n')
    : value;
}

/** Imports `vonage.privateKey`: an RSA private key that fits RS256. */
function loadKey(
  input: PrivateKeyInput,
  path: string,
  problems: ConfigProblems,
): KeyObject | Invalid {
  return (
    problems.attempt(path, () => {
      const key = loadPrivateKey(
        typeof input === 'string' ? unescapePem(input) : input,
        path,
      );
      assertKeyFitsAlgorithm(key, 'RS256', 'private', path);
      return key;
    }) ?? INVALID
  );
}

/** Validates the 'vonage' section; every problem goes to `problems`. */
export function normalizeVonageJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedVonageJwtOptions | undefined {
  void context;
  const v = readOptions('vonage', raw, VONAGE_OPTIONS, problems, {
    privateKey: loadKey,
  })?.complete();
  if (!v) return undefined;
  const { applicationId, defaultTtl } = v;
  return { applicationId, key: v.privateKey, defaultTtl };
}
