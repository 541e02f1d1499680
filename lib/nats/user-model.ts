import { isIP } from 'node:net';
import { isPlainObject } from '../common/is-plain-object.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import type { NatsSigningKeyScope } from './interfaces/nats-account.interface.js';

/**
 * The Go `nats-io/jwt` v2 user model (permissions and limits): validated with the rules of Go's
 * `UserClaims.Validate`, which nats-server runs on every connect, and written as JSON members (internal).
 */

const CONNECTION_TYPES = new Set([
  'STANDARD',
  'WEBSOCKET',
  'LEAFNODE',
  'LEAFNODE_WS',
  'MQTT',
  'MQTT_WS',
  'IN_PROCESS',
]);

/** Throws `INVALID_ARGUMENT` naming the field (internal). */
export function invalid(what: string, message: string): never {
  throw new JwtIssuerError(
    JwtIssuerErrorCode.INVALID_ARGUMENT,
    `${what}: ${message}`,
  );
}

/**
 * An array of non-empty strings (internal). Errors name `what`, or `what.member` (the label is built only for an
 * error: some lists are checked on every callout request).
 */
export function stringList(
  value: unknown,
  what: string,
  member?: string,
): string[] {
  if (!Array.isArray(value)) {
    invalid(label(what, member), 'must be an array of strings');
  }
  const list = value as unknown[];
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (typeof item !== 'string' || item === '') {
      invalid(`${label(what, member)}[${i}]`, 'must be a non-empty string');
    }
  }
  return list as string[];
}

function label(what: string, member: string | undefined): string {
  return member === undefined ? what : `${what}.${member}`;
}

/** A safe integer ≥ `min` (internal). */
export function wholeNumber(value: unknown, what: string, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    invalid(what, `must be a whole number ≥ ${min}`);
  }
  return value as number;
}

/** Go `Subject.Validate`: not empty, no space, no leading/trailing `.`, no empty token; the problem, if any. */
function subjectProblem(subject: string): string | undefined {
  if (subject === '') return 'has an empty subject';
  if (subject.startsWith('.') || subject.endsWith('.')) {
    return 'a subject cannot start or end with "."';
  }
  if (subject.includes('..')) {
    return 'a subject cannot contain an empty token ("..")';
  }
  return undefined;
}

/**
 * Go `checkPermission`: `subject` or, where queues are permitted (subscribe), `subject queue`; the problem, if any.
 * Nothing is allocated for a valid entry (a decision's permissions are checked on every callout request).
 */
function permissionEntryProblem(
  entry: string,
  permitQueue: boolean,
): string | undefined {
  const space = entry.indexOf(' ');
  if (space < 0) return subjectProblem(entry);
  if (entry.includes(' ', space + 1)) {
    return 'has more than one space: an entry is a subject, or a subject and a queue group';
  }
  if (!permitQueue) return 'a publish permission cannot name a queue group';
  return (
    subjectProblem(entry.slice(0, space)) ??
    subjectProblem(entry.slice(space + 1))
  );
}

/** Why an empty `allow` list is refused (internal: the callout's template expansion says the same). */
export const EMPTY_ALLOW =
  'must not be empty: nats-server reads an empty allow list as no restriction (every subject). To allow everything, leave the list out; to allow nothing, use deny: [">"]';

function permissionJson(
  value: unknown,
  what: string,
  permitQueue: boolean,
): string | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value))
    invalid(what, 'must be an object { allow?, deny? }');
  const parts: string[] = [];
  for (const key of ['allow', 'deny'] as const) {
    const json = permissionListJson(value[key], what, key, permitQueue);
    if (json !== undefined) parts.push(`"${key}":${json}`);
  }
  return `{${parts.join(',')}}`;
}

/** The JSON of a validated `allow` or `deny` list; its label is built only for an error. */
function permissionListJson(
  value: unknown,
  what: string,
  key: 'allow' | 'deny',
  permitQueue: boolean,
): string | undefined {
  if (value === undefined) return undefined;
  const list = stringList(value, what, key);
  if (list.length === 0) {
    // nats-server reads an empty list as no list: an empty allow would allow every subject, so it is refused; an
    // empty deny denies nothing, so it is left out rather than written.
    if (key === 'allow') invalid(`${what}.allow`, EMPTY_ALLOW);
    return undefined;
  }
  for (let i = 0; i < list.length; i++) {
    const problem = permissionEntryProblem(list[i], permitQueue);
    if (problem !== undefined) invalid(`${what}.${key}[${i}]`, problem);
  }
  return JSON.stringify(list);
}

/** Go `net.ParseCIDR`: an IPv4 or IPv6 address (no zone), `/`, a prefix length within the address size. */
function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const address = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^\d{1,4}$/.test(bits) || address.includes('%')) return false;
  const version = isIP(address);
  return version !== 0 && Number(bits) <= (version === 4 ? 32 : 128);
}

// Go time.Parse("15:04:05"): hour of one or two digits < 24, minutes and seconds of two digits < 60, and Go also
// takes a fractional second after them.
const CLOCK = /^(?:[01]?\d|2[0-3]):[0-5]\d:[0-5]\d(?:[.,]\d+)?$/;

/**
 * Go `time.LoadLocation`: `UTC`, `Local`, or a zone of the IANA database, by its exact (case-sensitive) file name.
 * Checked with `Intl`, which knows the same database but ignores case: a case variant of a zone Intl resolves to
 * itself is refused, and so is an alias whose path does not start each segment with a capital.
 */
function isTimeZone(name: string): boolean {
  if (name === 'UTC' || name === 'Local') return true;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
    }).resolvedOptions().timeZone;
  } catch {
    return false;
  }
  if (resolved.toLowerCase() === name.toLowerCase()) return resolved === name;
  return name.split('/').every((segment) => /^[A-Z]/.test(segment));
}

function timesJson(value: unknown): string {
  if (!Array.isArray(value)) {
    invalid('limits.times', 'must be an array of { start, end }');
  }
  const times = (value as unknown[]).map((t, i) => {
    const what = `limits.times[${i}]`;
    if (!isPlainObject(t))
      invalid(what, 'must be { start: "HH:MM:SS", end: "HH:MM:SS" }');
    for (const key of ['start', 'end'] as const) {
      if (typeof t[key] !== 'string' || !CLOCK.test(t[key])) {
        invalid(
          `${what}.${key}`,
          'must be a time of day "HH:MM:SS" (hours 0-23, minutes and seconds 0-59)',
        );
      }
    }
    return { start: t.start as string, end: t.end as string };
  });
  return JSON.stringify(times);
}

/**
 * The Go v2 user model fields (permissions and limits) as JSON members, each followed by a comma, validated as
 * nats-server's `UserClaims.Validate` would. A scoped key's user carries none (the server refuses any).
 *
 * @throws {JwtIssuerError} `SCOPED_KEY_PERMISSIONS`, `INVALID_ARGUMENT` (naming the field).
 */
export function userModelJson(
  permissions: unknown,
  limits: unknown,
  scope: NatsSigningKeyScope,
): string {
  if (
    scope === 'scoped' &&
    (permissions !== undefined || limits !== undefined)
  ) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.SCOPED_KEY_PERMISSIONS,
      `${permissions !== undefined ? 'permissions' : 'limits'}: the signing key is a scoped signing key; its template sets the user's permissions and limits, and nats-server refuses a scoped user that carries any`,
    );
  }
  if (
    scope === 'scoped' ||
    (scope === 'unknown' && permissions === undefined && limits === undefined)
  ) {
    return '';
  }
  const out: string[] = [];
  if (permissions !== undefined) {
    if (!isPlainObject(permissions)) {
      invalid('permissions', 'must be an object { pub?, sub?, resp? }');
    }
    const pub = permissionJson(permissions.pub, 'permissions.pub', false);
    const sub = permissionJson(permissions.sub, 'permissions.sub', true);
    if (pub !== undefined) out.push(`"pub":${pub}`);
    if (sub !== undefined) out.push(`"sub":${sub}`);
    if (permissions.resp !== undefined) {
      const resp = permissions.resp;
      if (!isPlainObject(resp)) {
        invalid('permissions.resp', 'must be an object { max, ttl? }');
      }
      const max = wholeNumber(resp.max, 'permissions.resp.max', -1);
      const ttl =
        resp.ttl === undefined
          ? 0
          : wholeNumber(resp.ttl, 'permissions.resp.ttl', 0);
      out.push(`"resp":{"max":${max},"ttl":${ttl}}`);
    }
  }
  if (limits !== undefined && !isPlainObject(limits)) {
    invalid('limits', 'must be an object');
  }
  const l: Record<string, unknown> = isPlainObject(limits) ? limits : {};
  if (l.src !== undefined) {
    const src = stringList(l.src, 'limits.src');
    src.forEach((cidr, i) => {
      if (!isCidr(cidr)) {
        invalid(
          `limits.src[${i}]`,
          'must be a CIDR block, an IPv4 or IPv6 address with a prefix length (192.0.2.1/32, 2001:db8::/32)',
        );
      }
    });
    out.push(`"src":${JSON.stringify(src)}`);
  }
  if (l.times !== undefined) out.push(`"times":${timesJson(l.times)}`);
  if (l.timesLocation !== undefined) {
    if (typeof l.timesLocation !== 'string' || !isTimeZone(l.timesLocation)) {
      invalid(
        'limits.timesLocation',
        'must be an IANA time zone name, case as in the database (Europe/Paris, UTC)',
      );
    }
    out.push(`"times_location":${JSON.stringify(l.timesLocation)}`);
  }
  for (const key of ['subs', 'data', 'payload'] as const) {
    const v =
      l[key] === undefined ? -1 : wholeNumber(l[key], `limits.${key}`, -1);
    out.push(`"${key}":${v}`);
  }
  if (l.bearerToken !== undefined) {
    if (typeof l.bearerToken !== 'boolean') {
      invalid('limits.bearerToken', 'must be a boolean');
    }
    if (l.bearerToken) out.push('"bearer_token":true');
  }
  if (l.allowedConnectionTypes !== undefined) {
    const types = stringList(
      l.allowedConnectionTypes,
      'limits.allowedConnectionTypes',
    );
    types.forEach((t, i) => {
      if (!CONNECTION_TYPES.has(t)) {
        invalid(
          `limits.allowedConnectionTypes[${i}]`,
          `must be one of ${[...CONNECTION_TYPES].join(', ')}`,
        );
      }
    });
    out.push(`"allowed_connection_types":${JSON.stringify(types)}`);
  }
  return out.map((m) => `${m},`).join('');
}
