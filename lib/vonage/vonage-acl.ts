import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import type {
  VonageAcl,
  VonageAclMethod,
  VonageAclRule,
} from './interfaces/vonage-options.interface.js';

/**
 * The ACL paths the Vonage Client SDK documents, by name.
 *
 * | name | path | allows |
 * |---|---|---|
 * | `sessions` | `/v1/sessions/**` | log in as a user |
 * | `users` | `/v1/users/**` | create and manage users |
 * | `conversations` | `/v1/conversations/**` | conversations, send and receive messages |
 * | `image` | `/v1/image/**` | send and receive images |
 * | `media` | `/v3/media/**` | send and receive audio |
 * | `knocking` | `/v1/knocking/**` | start calls |
 * | `push` | `/v1/push/**` | receive push notifications |
 * | `devices` | `/v1/devices/**` | send push notifications |
 * | `applications` | `/v1/applications/**` | upload push notification certificates |
 *
 * @example
 * VONAGE_ACL_PATHS.conversations; // '/v1/conversations/**'
 */
export const VONAGE_ACL_PATHS = Object.freeze({
  sessions: '/v1/sessions/**',
  users: '/v1/users/**',
  conversations: '/v1/conversations/**',
  image: '/v1/image/**',
  media: '/v3/media/**',
  knocking: '/v1/knocking/**',
  push: '/v1/push/**',
  devices: '/v1/devices/**',
  applications: '/v1/applications/**',
} as const);

/** A documented ACL path, by name (see {@link VONAGE_ACL_PATHS}). */
export type VonageAclPathName = keyof typeof VONAGE_ACL_PATHS;

/** What {@link vonageAcl} accepts: `'all'`, a list of path names, or path names with their rule. */
export type VonageAclSelection =
  | 'all'
  | readonly VonageAclPathName[]
  | Readonly<Partial<Record<VonageAclPathName, Readonly<VonageAclRule>>>>;

const NAMES = Object.keys(VONAGE_ACL_PATHS) as VonageAclPathName[];
const METHODS: ReadonlySet<string> = new Set<VonageAclMethod>([
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
]);

function invalid(message: string): JwtIssuerError {
  return new JwtIssuerError(
    JwtIssuerErrorCode.INVALID_ARGUMENT,
    `vonageAcl: ${message}`,
  );
}

function pathOf(name: unknown, where: string): string {
  if (
    typeof name !== 'string' ||
    !Object.prototype.hasOwnProperty.call(VONAGE_ACL_PATHS, name)
  ) {
    throw invalid(
      `${where} is not a documented ACL path (known: ${NAMES.join(', ')})`,
    );
  }
  return VONAGE_ACL_PATHS[name as VonageAclPathName];
}

/** Throws unless `rule` is a valid ACL rule; `where` names it in the message, after `prefix`. */
function checkAclRule(rule: unknown, where: string, prefix: string): void {
  const fail = (message: string) =>
    new JwtIssuerError(
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      `${prefix}: ${where}${message}`,
    );
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
    throw fail(' must be an object ({} allows everything)');
  }
  for (const key of Object.keys(rule)) {
    if (key !== 'methods' && key !== 'filters') {
      throw fail(`.${key} is not a known rule field (known: methods, filters)`);
    }
  }
  const { methods, filters } = rule as VonageAclRule;
  if (
    methods !== undefined &&
    (!Array.isArray(methods) ||
      methods.length === 0 ||
      !methods.every((m) => typeof m === 'string' && METHODS.has(m)))
  ) {
    throw fail(
      `.methods must be a non-empty array of ${[...METHODS].join(', ')}`,
    );
  }
  if (
    filters !== undefined &&
    (typeof filters !== 'object' || filters === null || Array.isArray(filters))
  ) {
    throw fail('.filters must be an object');
  }
}

/**
 * Throws unless `acl` is a valid `acl` claim: `{ paths: { '/path': rule, … } }` (internal; the service's check).
 *
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` naming `acl` after `prefix`.
 */
export function assertVonageAcl(acl: unknown, prefix: string): void {
  const fail = (message: string) =>
    new JwtIssuerError(
      JwtIssuerErrorCode.INVALID_ARGUMENT,
      `${prefix}: acl${message}`,
    );
  if (typeof acl !== 'object' || acl === null || Array.isArray(acl)) {
    throw fail(' must be an object { paths: { … } } (see vonageAcl)');
  }
  for (const key of Object.keys(acl)) {
    if (key !== 'paths')
      throw fail(`.${key} is not a known field (known: paths)`);
  }
  const { paths } = acl as { paths?: unknown };
  if (typeof paths !== 'object' || paths === null || Array.isArray(paths)) {
    throw fail('.paths must be an object of path: rule');
  }
  const entries = Object.keys(paths);
  if (entries.length === 0) throw fail('.paths must not be empty');
  for (const path of entries) {
    if (!path.startsWith('/')) {
      throw fail(`.paths['${path}'] is not a path (it must start with "/")`);
    }
    checkAclRule(
      (paths as Record<string, unknown>)[path],
      `acl.paths['${path}']`,
      prefix,
    );
  }
}

function copyAclRule(rule: unknown, name: string): VonageAclRule {
  checkAclRule(rule, name, 'vonageAcl');
  const { methods, filters } = rule as VonageAclRule;
  const out: VonageAclRule = {};
  if (methods !== undefined) out.methods = [...methods];
  // A deep copy through JSON: filters are plain JSON data in the token anyway.
  if (filters !== undefined) {
    out.filters = JSON.parse(JSON.stringify(filters)) as Record<
      string,
      unknown
    >;
  }
  return out;
}

/**
 * Builds the `acl` claim of a Vonage Client SDK token from the documented paths: every path (`'all'`), a chosen
 * few (an array of names), or a chosen few each with its `methods` and `filters`. Returns a fresh object; the
 * argument is never changed or kept.
 *
 * @example
 * vonageAcl('all');
 * // { paths: { '/v1/sessions/**': {}, '/v1/users/**': {}, … } }
 * vonageAcl(['sessions', 'conversations']);
 * vonageAcl({ sessions: {}, users: { methods: ['GET'] }, conversations: { filters: { name: 'support' } } });
 * @param selection `'all'` (the default), path names, or path names with their rules.
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` for an unknown path name, an empty selection, or a bad rule.
 */
export function vonageAcl(selection: VonageAclSelection = 'all'): VonageAcl {
  const paths: Record<string, VonageAclRule> = {};
  if (selection === 'all') {
    for (const name of NAMES) paths[VONAGE_ACL_PATHS[name]] = {};
  } else if (Array.isArray(selection)) {
    if (selection.length === 0) {
      throw invalid("the selection is empty (use 'all' or name some paths)");
    }
    selection.forEach((name: unknown, i) => {
      paths[pathOf(name, `paths[${i}]`)] = {};
    });
  } else if (typeof selection === 'object' && selection !== null) {
    const names = Object.keys(selection);
    if (names.length === 0) {
      throw invalid("the selection is empty (use 'all' or name some paths)");
    }
    for (const name of names) {
      paths[pathOf(name, `'${name}'`)] = copyAclRule(
        (selection as Record<string, unknown>)[name],
        name,
      );
    }
  } else {
    throw invalid(
      "the selection must be 'all', an array of path names, or an object of path names and rules",
    );
  }
  return { paths };
}
