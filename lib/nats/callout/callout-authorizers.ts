import { createHash, timingSafeEqual } from 'node:crypto';
import { SetMetadata } from '@nestjs/common';
import { nowSeconds } from '../../common/time.js';
import { JwtIssuerError } from '../../errors.js';
import type {
  NatsAuthDecision,
  NatsAuthorizer,
  NatsAuthRequest,
} from '../interfaces/nats-callout.interface.js';
import type {
  NatsPermission,
  NatsUserPermissions,
} from '../interfaces/nats-user-jwt.interface.js';

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

function expandList(
  list: readonly string[] | undefined,
  name: string,
  tags: readonly string[],
): string[] | undefined {
  if (list === undefined) return undefined;
  const out: string[] = [];
  for (const subject of list) {
    let variants = [subject];
    if (subject.includes('{{name()}}')) {
      if (!SAFE_VALUE.test(name)) continue;
      variants = variants.map((s) => s.replaceAll('{{name()}}', name));
    }
    let dropped = false;
    for (const m of subject.matchAll(/\{\{tag\(([a-z0-9_-]+)\)\}\}/g)) {
      const prefix = `${m[1]}:`;
      const values = tags
        .filter((t) => t.startsWith(prefix))
        .map((t) => t.slice(prefix.length))
        .filter((v) => SAFE_VALUE.test(v));
      if (values.length === 0) {
        dropped = true;
        break;
      }
      variants = variants.flatMap((s) =>
        values.map((v) => s.replaceAll(m[0], v)),
      );
    }
    if (!dropped) out.push(...variants);
  }
  return out;
}

function expandPermission(
  p: NatsPermission | undefined,
  name: string,
  tags: readonly string[],
): NatsPermission | undefined {
  if (!p) return undefined;
  const allow = expandList(p.allow, name, tags);
  const deny = expandList(p.deny, name, tags);
  return {
    ...(allow ? { allow } : {}),
    ...(deny ? { deny } : {}),
  };
}

/**
 * Applies a permissions template of the built-in authorizers: `{{name()}}` becomes the user's name, `{{tag(x)}}` each
 * value of its `x:` tags; an entry whose value is missing or unsafe in a subject (`.`, `*`, `>`, spaces) is left out.
 */
export function expandPermissions(
  template: NatsUserPermissions | undefined,
  name: string,
  tags: readonly string[],
): NatsUserPermissions | undefined {
  if (!template) return undefined;
  return {
    ...(template.pub
      ? { pub: expandPermission(template.pub, name, tags) }
      : {}),
    ...(template.sub
      ? { sub: expandPermission(template.sub, name, tags) }
      : {}),
    ...(template.resp ? { resp: template.resp } : {}),
  };
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

/**
 * Built-in authorizer `'service-token'`: the client's `auth_token` is a token of a trusted issuer (a service token,
 * `source: "microservice"`), verified by the same verifier as `ServiceTokenGuard`. Its `sub` becomes the user's
 * name, the configured claims its tags, and the user JWT expires no later than the token.
 */
export class ServiceTokenCalloutAuthorizer implements NatsAuthorizer {
  constructor(
    private readonly verifier: CalloutTokenVerifier,
    private readonly options: {
      tagClaims: readonly string[];
      permissions?: NatsUserPermissions;
      maxExpiresIn: number;
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
    return {
      allow: true,
      name,
      tags,
      permissions: expandPermissions(this.options.permissions, name, tags),
      expiresIn: Math.min(exp, this.options.maxExpiresIn),
    };
  }
}

/** Built-in development authorizer `'password'`: `user`/`pass` of the CONNECT checked against `callout.users`. */
export class PasswordCalloutAuthorizer implements NatsAuthorizer {
  constructor(
    private readonly users: ReadonlyMap<string, Buffer>,
    private readonly permissions?: NatsUserPermissions,
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
    return {
      allow: true,
      name: user,
      permissions: expandPermissions(this.permissions, user, []),
    };
  }
}
