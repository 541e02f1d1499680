import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import { loadSecretKey } from '../common/keys.js';
import {
  type ResolvedSealdJwtOptions,
  SealdPermission,
} from './interfaces/seald-options.interface.js';

const KNOWN_OPTIONS = ['secretId', 'secret', 'permissions', 'appId'];

/** Every permission value Seald knows, for messages and checks. */
export const SEALD_PERMISSION_VALUES: ReadonlySet<number> = new Set(
  Object.values(SealdPermission),
);

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

/** A permission given as a number or (from the environment) as integer text; undefined when it is neither. */
function toPermission(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return Number(v);
  return undefined;
}

/** Validates the 'seald' section; every problem goes to `problems`. */
export function normalizeSealdJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedSealdJwtOptions | undefined {
  void context;
  const o = problems.section('seald', raw, KNOWN_OPTIONS);
  if (!o) return undefined;
  const before = problems.list.length;

  if (o.secretId === undefined) {
    problems.add('seald.secretId', 'is required (the JWTSecretId)');
  } else if (!isNonEmptyString(o.secretId)) {
    problems.add('seald.secretId', 'must be a non-empty string');
  }

  if (o.secret === undefined) {
    problems.add('seald.secret', 'is required (the JWTSecret)');
  } else if (!isNonEmptyString(o.secret)) {
    problems.add('seald.secret', 'must be a non-empty string');
  }

  let permissions: SealdPermission[] = [SealdPermission.ALL];
  if (o.permissions !== undefined) {
    if (!Array.isArray(o.permissions) || o.permissions.length === 0) {
      problems.add(
        'seald.permissions',
        `must be a non-empty list of permission integers (${[...SEALD_PERMISSION_VALUES].join(', ')})`,
      );
    } else {
      const parsed: SealdPermission[] = [];
      (o.permissions as unknown[]).forEach((item, i) => {
        const p = toPermission(item);
        if (p === undefined) {
          problems.add(
            'seald.permissions',
            `item ${i} is not an integer (known permissions: ${[...SEALD_PERMISSION_VALUES].join(', ')})`,
          );
        } else if (!SEALD_PERMISSION_VALUES.has(p)) {
          problems.add(
            'seald.permissions',
            `item ${i} (${p}) is not a known permission (known: ${[...SEALD_PERMISSION_VALUES].join(', ')})`,
          );
        } else if (!parsed.includes(p as SealdPermission)) {
          parsed.push(p as SealdPermission);
        }
      });
      permissions = parsed.includes(SealdPermission.ALL)
        ? [SealdPermission.ALL]
        : parsed;
    }
  }

  let appId: string | undefined;
  if (o.appId !== undefined) {
    if (!isNonEmptyString(o.appId) || /[@\s]/.test(o.appId)) {
      problems.add(
        'seald.appId',
        'must be a non-empty string without "@" or spaces (the Seald application id)',
      );
    } else {
      appId = o.appId;
    }
  }

  if (problems.list.length > before) return undefined;
  return {
    secretId: o.secretId as string,
    key: loadSecretKey(o.secret as string),
    permissions,
    appId,
  };
}
