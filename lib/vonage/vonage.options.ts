import type { KeyObject } from 'node:crypto';
import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import { assertKeyFitsAlgorithm, loadPrivateKey } from '../common/keys.js';
import type { ResolvedVonageJwtOptions } from './interfaces/vonage-options.interface.js';

const KNOWN_OPTIONS = ['applicationId', 'privateKey', 'defaultTtl'];

/** The longest lifetime the Vonage platform honours (24 h). */
export const VONAGE_MAX_TTL = 86_400;
/** The lifetime of a token when none is configured or asked for (15 min, the platform's own default). */
export const VONAGE_DEFAULT_TTL = 900;

/** PEM text pasted into a one-line variable often carries `\n` escapes: turn them into line breaks. */
function unescapePem(value: string): string {
  const text = value.trim();
  return text.startsWith('-----BEGIN') &&
    !text.includes('\n') &&
    text.includes('\\n')
    ? text.replace(/\\n/g, '\n')
    : value;
}

function loadKey(
  input: unknown,
  problems: ConfigProblems,
): KeyObject | undefined {
  const path = 'vonage.privateKey';
  return problems.attempt(path, () => {
    const key = loadPrivateKey(
      (typeof input === 'string' ? unescapePem(input) : input) as Parameters<
        typeof loadPrivateKey
      >[0],
      path,
    );
    assertKeyFitsAlgorithm(key, 'RS256', 'private', path);
    return key;
  });
}

/** Validates the 'vonage' section; every problem goes to `problems`. */
export function normalizeVonageJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedVonageJwtOptions | undefined {
  void context;
  const o = problems.section('vonage', raw, KNOWN_OPTIONS);
  if (!o) return undefined;
  const before = problems.list.length;

  if (o.applicationId === undefined) {
    problems.add('vonage.applicationId', 'is required');
  } else if (
    typeof o.applicationId !== 'string' ||
    o.applicationId.trim() === '' ||
    /\s/.test(o.applicationId)
  ) {
    problems.add(
      'vonage.applicationId',
      'must be a non-empty string without spaces (the Vonage application id)',
    );
  }

  let key: KeyObject | undefined;
  if (o.privateKey === undefined) {
    problems.add(
      'vonage.privateKey',
      "is required (the application's private key: PEM, JWK or file path)",
    );
  } else {
    key = loadKey(o.privateKey, problems);
  }

  let defaultTtl = VONAGE_DEFAULT_TTL;
  if (o.defaultTtl !== undefined) {
    if (
      typeof o.defaultTtl !== 'number' ||
      !Number.isInteger(o.defaultTtl) ||
      o.defaultTtl <= 0 ||
      o.defaultTtl > VONAGE_MAX_TTL
    ) {
      problems.add(
        'vonage.defaultTtl',
        `must be a whole number of seconds from 1 to ${VONAGE_MAX_TTL} (24 h, the most the platform honours)`,
      );
    } else {
      defaultTtl = o.defaultTtl;
    }
  }

  if (problems.list.length > before || key === undefined) return undefined;
  return { applicationId: o.applicationId as string, key, defaultTtl };
}
