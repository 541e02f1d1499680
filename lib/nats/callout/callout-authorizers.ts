import { createHash, timingSafeEqual } from 'node:crypto';
import { SetMetadata } from '@nestjs/common';
import { nowSeconds } from '../../common/time.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import type {
  NatsAuthDecision,
  NatsAuthorizer,
  NatsAuthRequest,
} from '../interfaces/nats-callout.interface.js';
import type { NatsUserPermissions } from '../interfaces/nats-user-jwt.interface.js';

/** Metadata key of {@link NatsAuthCallout}. */
export const NATS_AUTH_CALLOUT_METADATA = 'nest-jwt-issuer:nats-auth-callout';

/**
 * Marks the method that decides who connects through the NATS auth callout (one per application). It receives the
 * verified {@link NatsAuthRequest} and an `AbortSignal` (aborted when the server has given up), and returns (or
 * resolves to) a {@link NatsAuthDecision}. An exception is a deny with a generic reason.
 *
 * @example
 * @Injectable()
 * export class NatsAccess {
 *   constructor(private readonly users: UsersService) {}
 *   @NatsAuthCallout()
 *   async decide(request: NatsAuthRequest, signal: AbortSignal): Promise<NatsAuthDecision> {
 *     const user = await this.users.byToken(request.connectOptions.authToken, signal);
 *     return user
 *       ? { allow: true, name: user.id, permissions: { pub: { allow: [`users.${user.id}.>`] } } }
 *       : { allow: false, reason: 'unknown token' };
 *   }
 * }
 */
export const NatsAuthCallout = (): MethodDecorator =>
  SetMetadata(NATS_AUTH_CALLOUT_METADATA, true);

// A value written into a subject: one token, nothing that widens it (no `.`, `*`, `>`, whitespace, control character).
// oxlint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const SAFE_VALUE = /^[^\s.*>\u0000-\u001f\u007f]{1,256}$/;

/** What a template entry whose values are missing or unsafe becomes. */
const DROPPED = Symbol('dropped');

// A placeholder of the built-in authorizers' template: `{{name()}}` or `{{tag(x)}}`.
const PLACEHOLDER = /\{\{(?:name\(\)|tag\(([a-z0-9_-]+)\))\}\}/g;

/**
 * One template entry expanded: its subjects, or `DROPPED` when a value it needs is missing or unsafe. The entry is
 * read once and every placeholder filled in that pass, so a value never becomes a placeholder of its own (a name
 * `{{tag(team)}}` stays that text). An `allow` entry takes the safe values of a tag and leaves the others out; a
 * `deny` entry (`strict`) is dropped when any value of its tags is unsafe, so that no value escapes the deny.
 */
function expandEntry(
  entry: string,
  name: string,
  tags: readonly string[],
  strict: boolean,
): string[] | typeof DROPPED {
  // The literal text between placeholders, and the values of each placeholder, in order.
  const texts: string[] = [];
  const values: string[][] = [];
  let last = 0;
  for (const m of entry.matchAll(PLACEHOLDER)) {
    texts.push(entry.slice(last, m.index));
    last = m.index + m[0].length;
    let found: string[];
    if (m[1] === undefined) {
      found = [name];
    } else {
      const prefix = `${m[1]}:`;
      found = tags
        .filter((t) => t.startsWith(prefix))
        .map((t) => t.slice(prefix.length));
    }
    const safe = found.filter((v) => SAFE_VALUE.test(v));
    if (safe.length === 0 || (strict && safe.length < found.length)) {
      return DROPPED;
    }
    values.push(safe);
  }
  if (values.length === 0) return [entry];
  let out = [texts[0]];
  for (let i = 0; i < values.length; i++) {
    const after = i + 1 < texts.length ? texts[i + 1] : entry.slice(last);
    out = out.flatMap((prefix) => values[i].map((v) => prefix + v + after));
  }
  return out;
}

/** The result of {@link expandPermissions}: the user's permissions, or why the connection is refused. */
export type ExpandedPermissions =
  | { ok: true; permissions: NatsUserPermissions | undefined }
  | { ok: false; reason: string };

/**
 * What an `allow` list of the template that expands to nothing becomes: the connection is refused
 * (`'refuse-connection'`, the default), or that direction allows nothing (`'deny-all'`). Never an empty list, which
 * nats-server reads as every subject.
 */
export type EmptyAllowPolicy = 'refuse-connection' | 'deny-all';

/**
 * Applies a permissions template of the built-in authorizers: `{{name()}}` becomes the user's name, `{{tag(x)}}` each
 * value of its `x:` tags. What is signed is never wider than the template with safe values:
 * - an `allow` entry whose value is missing or unsafe in a subject (`.`, `*`, `>`, whitespace) is left out; when no
 *   entry of a non-empty `allow` list is left, the connection is refused (or, with `emptyAllow: 'deny-all'`, that
 *   direction allows nothing);
 * - a `deny` entry that cannot be expanded refuses the connection (a deny that vanished would widen the user).
 */
export function expandPermissions(
  template: NatsUserPermissions | undefined,
  name: string,
  tags: readonly string[],
  emptyAllow: EmptyAllowPolicy = 'refuse-connection',
): ExpandedPermissions {
  if (!template) return { ok: true, permissions: undefined };
  const out: {
    -readonly [K in keyof NatsUserPermissions]: NatsUserPermissions[K];
  } = {};
  for (const direction of ['pub', 'sub'] as const) {
    const p = template[direction];
    if (!p) continue;
    const expanded: { allow?: string[]; deny?: string[] } = {};
    if (p.deny) {
      const deny: string[] = [];
      for (let i = 0; i < p.deny.length; i++) {
        const subjects = expandEntry(p.deny[i], name, tags, true);
        if (subjects === DROPPED) {
          return {
            ok: false,
            reason: `permissions.${direction}.deny[${i}] cannot be expanded (a name or tag value it needs is missing, or one is unsafe in a subject); a deny entry never vanishes`,
          };
        }
        deny.push(...subjects);
      }
      expanded.deny = deny;
    }
    if (p.allow) {
      const allow: string[] = [];
      for (const entry of p.allow) {
        const subjects = expandEntry(entry, name, tags, false);
        if (subjects !== DROPPED) allow.push(...subjects);
      }
      if (allow.length > 0) {
        expanded.allow = allow;
      } else if (emptyAllow === 'deny-all') {
        expanded.deny = ['>'];
      } else {
        return {
          ok: false,
          reason: `permissions.${direction}.allow expands to no subject (the name or tag values its entries need are missing or unsafe in a subject); an empty allow list would allow every subject`,
        };
      }
    }
    out[direction] = expanded;
  }
  if (template.resp) out.resp = template.resp;
  return { ok: true, permissions: out };
}

/** Tags `claim:value` from the configured claims (string values, or arrays of strings). */
export function tagsFromClaims(
  claims: Readonly<Record<string, unknown>>,
  tagClaims: readonly string[],
): string[] {
  const tags: string[] = [];
  for (const c of tagClaims) {
    const v = claims[c];
    const values = Array.isArray(v) ? v : [v];
    for (const x of values.slice(0, 32)) {
      if (typeof x === 'string' && x !== '' && x.length <= 256)
        tags.push(`${c}:${x}`);
    }
  }
  return tags;
}

/** What the service-token authorizer needs of a verifier (the module's `ServiceTokenVerifier`). */
export interface CalloutTokenVerifier {
  verify(token: string): Promise<Readonly<Record<string, unknown>>>;
}

/** The template options shared by the built-in authorizers. */
export interface CalloutTemplateOptions {
  permissions?: NatsUserPermissions;
  emptyAllow: EmptyAllowPolicy;
}

/** True when `aud` (a string or a list) holds one of `expected`. */
function audienceMatches(aud: unknown, expected: readonly string[]): boolean {
  const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  return auds.some((a) => typeof a === 'string' && expected.includes(a));
}

/**
 * Built-in authorizer `'service-token'`: the client's `auth_token` is a token of a trusted issuer (a service token,
 * `source: "microservice"`), verified by the same verifier as `ServiceTokenGuard`, and meant for NATS: its `aud`
 * holds one of `audience` (when given; otherwise the verifier's `expectedAudience` has been checked). Its `sub`
 * becomes the user's name, the configured claims its tags, and the user JWT expires no later than the token.
 */
export class ServiceTokenCalloutAuthorizer implements NatsAuthorizer {
  constructor(
    private readonly verifier: CalloutTokenVerifier,
    private readonly options: CalloutTemplateOptions & {
      tagClaims: readonly string[];
      maxExpiresIn: number;
      /** `aud` values a token must carry one of; `undefined` when the verifier checks `expectedAudience`. */
      audience?: readonly string[];
    },
  ) {}

  async authorize(request: NatsAuthRequest): Promise<NatsAuthDecision> {
    const token = request.connectOptions.authToken;
    if (!token)
      return {
        allow: false,
        reason: 'no auth_token (a service token is expected)',
      };
    let claims: Readonly<Record<string, unknown>>;
    try {
      claims = await this.verifier.verify(token);
    } catch (e) {
      // Error codes only: a verifier's message never quotes the token, but the code says everything needed.
      return {
        allow: false,
        reason: `token refused (${e instanceof JwtIssuerError ? e.code : 'verification error'})`,
      };
    }
    const { audience } = this.options;
    if (audience !== undefined && !audienceMatches(claims.aud, audience)) {
      return {
        allow: false,
        reason: `token refused (${JwtIssuerErrorCode.TOKEN_CLAIM_INVALID}: aud is not one of nats.callout.audience)`,
      };
    }
    const name = claims.sub;
    if (typeof name !== 'string' || !SAFE_VALUE.test(name)) {
      return {
        allow: false,
        reason: 'token refused (sub missing or not usable as a NATS name)',
      };
    }
    const tags = tagsFromClaims(claims, this.options.tagClaims);
    const exp =
      typeof claims.exp === 'number'
        ? claims.exp - nowSeconds()
        : this.options.maxExpiresIn;
    if (exp < 1) return { allow: false, reason: 'token refused (expires now)' };
    const expanded = expandPermissions(
      this.options.permissions,
      name,
      tags,
      this.options.emptyAllow,
    );
    if (!expanded.ok) return { allow: false, reason: expanded.reason };
    return {
      allow: true,
      name,
      tags,
      permissions: expanded.permissions,
      expiresIn: Math.min(exp, this.options.maxExpiresIn),
    };
  }
}

/** Built-in development authorizer `'password'`: `user`/`pass` of the CONNECT checked against `callout.users`. */
export class PasswordCalloutAuthorizer implements NatsAuthorizer {
  constructor(
    private readonly users: ReadonlyMap<string, Buffer>,
    private readonly template: CalloutTemplateOptions,
  ) {}

  authorize(request: NatsAuthRequest): NatsAuthDecision {
    const { user, pass } = request.connectOptions;
    const expected = user === undefined ? undefined : this.users.get(user);
    const given = createHash('sha256')
      .update(pass ?? '')
      .digest();
    // Compared even for an unknown user, so the time says nothing about which names exist.
    const ok =
      timingSafeEqual(given, expected ?? Buffer.alloc(32)) &&
      expected !== undefined;
    if (!ok || user === undefined)
      return { allow: false, reason: 'unknown user or wrong password' };
    const expanded = expandPermissions(
      this.template.permissions,
      user,
      [],
      this.template.emptyAllow,
    );
    if (!expanded.ok) return { allow: false, reason: expanded.reason };
    return { allow: true, name: user, permissions: expanded.permissions };
  }
}
