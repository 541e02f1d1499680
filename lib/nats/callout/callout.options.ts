import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ConfigProblems } from '../../config/config-problems.js';
import type { NormalizeContext } from '../../config/normalize-context.interface.js';
import { isPlainObject } from '../../common/is-plain-object.js';
import { inspectAccountJwt } from '../account-jwt.js';
import type { NatsCalloutOptions } from '../interfaces/nats-callout-options.interface.js';
import type { NatsUserPermissions } from '../interfaces/nats-user-jwt.interface.js';
import type { NatsSigningKeyScope } from '../issue-user-jwt.js';
import { checkPublicNkey, type DecodedSeed, decodeSeed } from '../nkey.js';
import { NkeyJwtSigner } from '../nkey-jwt.js';
import { userModelJson } from '../user-model.js';
import type { EmptyAllowPolicy } from './callout-authorizers.js';
import { XkeyBox } from './xkey.js';

/** The signer of one target account's user JWTs (internal). */
export interface CalloutAccountSigner {
  /** Config mode: the account name (`aud`); operator mode: the account public key. */
  account: string;
  signer: NkeyJwtSigner;
  /** Serialized `issuer_account` (operator mode, signed by a signing key); `undefined` in config mode. */
  accountJson?: string;
  scope: NatsSigningKeyScope;
}

/** The `nats.callout` section after validation (internal). */
export interface ResolvedNatsCalloutOptions {
  mode: 'config' | 'operator';
  servers: string[];
  connection: {
    user?: string;
    pass?: string;
    token?: string;
    /** `.creds` text. */
    creds?: string;
    name: string;
  };
  queue: string;
  xkey?: XkeyBox;
  /** The server's auth timeout. */
  timeoutMs: number;
  /** Work on a request stops this long after it was received (no reply after it). */
  deadlineMs: number;
  maxConcurrency: number;
  maxPending: number;
  maxRequestBytes: number;
  maxExpiresIn: number;
  /** `sub` of every request: the callout issuer (config mode) or the callout account (operator mode). */
  requestSubject: string;
  /** Signs responses (config mode: the issuer key, also the user JWT signer). */
  responseSigner: DecodedSeed;
  /** Default target account (name in config mode, `A…` in operator mode). */
  defaultAccount: string;
  /** Operator mode: signers by account public key. Config mode: empty (the issuer signs for every account name). */
  accounts: ReadonlyMap<string, CalloutAccountSigner>;
  /** Config mode: the issuer as user JWT signer. */
  issuer?: NkeyJwtSigner;
  authorizer: NatsCalloutOptions['authorizer'];
  /** `aud` values the `'service-token'` authorizer requires (one of); `undefined`: `service.expectedAudience`. */
  audience?: string[];
  tagClaims: string[];
  permissions?: NatsUserPermissions;
  emptyAllow: EmptyAllowPolicy;
  /** Password authorizer: user name → SHA-256 of the password. */
  users?: ReadonlyMap<string, Buffer>;
}

const KNOWN = [
  'mode',
  'servers',
  'user',
  'pass',
  'token',
  'creds',
  'name',
  'queue',
  'issuerKey',
  'xkey',
  'account',
  'calloutAccount',
  'accounts',
  'timeout',
  'maxConcurrency',
  'maxPending',
  'maxRequestBytes',
  'maxExpiresIn',
  'authorizer',
  'audience',
  'tagClaims',
  'permissions',
  'emptyAllow',
  'users',
];

const ACCOUNT_NAME = /^[A-Za-z0-9_$-][A-Za-z0-9_$.-]{0,127}$/;

function count(
  problems: ConfigProblems,
  o: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    problems.add(
      `nats.callout.${key}`,
      `must be a number from ${min} to ${max}`,
    );
    return fallback;
  }
  return v;
}

function readCreds(
  problems: ConfigProblems,
  value: unknown,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    problems.add(
      'nats.callout.creds',
      'must be a .creds text or the path of a .creds file',
    );
    return undefined;
  }
  let text = value;
  if (!value.includes('-----BEGIN')) {
    if (value.length > 4096 || !existsSync(value)) {
      problems.add(
        'nats.callout.creds',
        'is neither a .creds text nor the path of a readable .creds file',
      );
      return undefined;
    }
    text = readFileSync(value, 'utf8');
  }
  if (
    !/-----BEGIN NATS USER JWT-----/.test(text) ||
    !/-----BEGIN USER NKEY SEED-----/.test(text)
  ) {
    problems.add(
      'nats.callout.creds',
      'is not a .creds text (a NATS USER JWT block and a USER NKEY SEED block)',
    );
    return undefined;
  }
  return text;
}

/** Checks a permissions template of the built-in authorizers: the user model's own check, with the template tokens. */
function checkPermissions(
  problems: ConfigProblems,
  value: unknown,
): NatsUserPermissions | undefined {
  if (value === undefined) return undefined;
  return problems.attempt('nats.callout.permissions', () => {
    // The user model's validation, on the template itself (template tokens are plain subject characters).
    userModelJson(value, undefined, 'unscoped');
    return value as NatsUserPermissions;
  });
}

/** Checks `audience`: one value or a list of non-empty strings. */
function checkAudience(
  problems: ConfigProblems,
  value: unknown,
): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((a) => typeof a !== 'string' || a === '')
  ) {
    problems.add(
      'nats.callout.audience',
      'must be an audience or a list of them (non-empty strings)',
    );
    return undefined;
  }
  return list as string[];
}

/**
 * The `'password'` authorizer gives its users no tags: a `{{tag(x)}}` entry could never be expanded (an allow entry
 * would always be left out, a deny entry would refuse every user), so the template is refused at start-up.
 */
function checkNoTags(
  problems: ConfigProblems,
  permissions: NatsUserPermissions,
): void {
  for (const direction of ['pub', 'sub'] as const) {
    for (const list of ['allow', 'deny'] as const) {
      permissions[direction]?.[list]?.forEach((entry, i) => {
        if (entry.includes('{{tag(')) {
          problems.add(
            `nats.callout.permissions.${direction}.${list}[${i}]`,
            "uses {{tag()}}, but the 'password' authorizer gives its users no tags: the entry could never be expanded",
          );
        }
      });
    }
  }
}

/**
 * Validates `nats.callout`; every problem goes to `problems`, secrets never quoted. `user` is the `nats` section's
 * own signing key and account (operator mode's defaults), when configured.
 */
export function normalizeCalloutOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
  user: { accountId?: string; signingKey?: DecodedSeed; accountJwt?: unknown },
): ResolvedNatsCalloutOptions | undefined {
  const o = problems.section('nats.callout', raw, KNOWN);
  if (!o) return undefined;
  const start = problems.list.length;
  const mode = o.mode ?? 'config';
  if (mode !== 'config' && mode !== 'operator') {
    problems.add(
      'nats.callout.mode',
      "must be 'config' (authorization { auth_callout }) or 'operator' (the account JWT's authorization)",
    );
  }
  let servers: string[] = [];
  const s = o.servers;
  const list = typeof s === 'string' ? [s] : s;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some(
      (x) =>
        typeof x !== 'string' ||
        !/^(nats|tls|wss?):\/\/[^\s]+$|^[\w.-]+:\d+$/.test(x),
    )
  ) {
    problems.add(
      'nats.callout.servers',
      'is required: one or more NATS URLs (nats://host:4222)',
    );
  } else {
    servers = list as string[];
  }
  const str = (key: string): string | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') {
      problems.add(`nats.callout.${key}`, 'must be a non-empty string');
      return undefined;
    }
    return v;
  };
  const connection = {
    user: str('user'),
    pass: str('pass'),
    token: str('token'),
    creds: readCreds(problems, o.creds),
    name: str('name') ?? 'nest-jwt-issuer auth callout',
  };
  if ((connection.user === undefined) !== (connection.pass === undefined)) {
    problems.add(
      'nats.callout.user',
      'user and pass go together (a user listed in auth_users)',
    );
  }
  if (
    mode === 'config' &&
    connection.user === undefined &&
    connection.token === undefined &&
    connection.creds === undefined
  ) {
    problems.add(
      'nats.callout.user',
      'is required in config mode: the responder connects as a user listed in auth_callout.auth_users (user + pass)',
    );
  }
  if (mode === 'operator' && connection.creds === undefined) {
    problems.add(
      'nats.callout.creds',
      'is required in operator mode: the .creds of a user listed in the account’s authorization.auth_users',
    );
  }
  const queue = str('queue') ?? 'nest-jwt-issuer';
  let xkey: XkeyBox | undefined;
  if (o.xkey !== undefined) {
    xkey = problems.attempt(
      'nats.callout.xkey',
      () => new XkeyBox(o.xkey, 'nats.callout.xkey'),
    );
  }
  const timeout = count(problems, o, 'timeout', 0.5, 60, 2);
  const timeoutMs = Math.round(timeout * 1000);
  const maxConcurrency = Math.floor(
    count(problems, o, 'maxConcurrency', 1, 10_000, 64),
  );
  const maxPending = Math.floor(
    count(problems, o, 'maxPending', 1, 1_000_000, 10_000),
  );
  const maxRequestBytes = Math.floor(
    count(problems, o, 'maxRequestBytes', 1024, 1 << 24, 64 * 1024),
  );
  const maxExpiresIn = Math.floor(
    count(problems, o, 'maxExpiresIn', 1, 366 * 86400, 3600),
  );

  let responseSigner: DecodedSeed | undefined;
  let issuer: NkeyJwtSigner | undefined;
  let requestSubject: string | undefined;
  let defaultAccount: string | undefined;
  const accounts = new Map<string, CalloutAccountSigner>();
  if (mode === 'config') {
    responseSigner = problems.attempt('nats.callout.issuerKey', () =>
      decodeSeed(o.issuerKey, 'nats.callout.issuerKey', ['account']),
    );
    if (responseSigner) {
      issuer = new NkeyJwtSigner(responseSigner);
      requestSubject = responseSigner.publicKey;
    }
    defaultAccount = '$G';
    if (o.account !== undefined) {
      if (typeof o.account !== 'string' || !ACCOUNT_NAME.test(o.account)) {
        problems.add(
          'nats.callout.account',
          'must be an account name of the server configuration (APP, $G)',
        );
      } else if (/^A[A-Z2-7]{55}$/.test(o.account)) {
        problems.add(
          'nats.callout.account',
          'is an account public key: config mode names accounts (APP); use mode operator for A… accounts',
        );
      } else {
        defaultAccount = o.account;
      }
    }
    if (o.calloutAccount !== undefined)
      problems.add('nats.callout.calloutAccount', 'is for operator mode only');
    if (o.accounts !== undefined)
      problems.add(
        'nats.callout.accounts',
        'is for operator mode only (config mode: the issuer key signs for every account)',
      );
  } else if (mode === 'operator') {
    if (!user.accountId || !user.signingKey) {
      problems.add(
        'nats.callout.mode',
        'operator mode signs user JWTs with nats.accountId and nats.signingKey: set both',
      );
    } else {
      const base: CalloutAccountSigner = {
        account: user.accountId,
        signer: new NkeyJwtSigner(user.signingKey),
        accountJson:
          user.signingKey.publicKey === user.accountId
            ? undefined
            : JSON.stringify(user.accountId),
        scope: 'unknown',
      };
      if (typeof user.accountJwt === 'string') {
        try {
          base.scope = inspectAccountJwt(
            user.accountJwt,
            user.accountId,
            user.signingKey.publicKey,
          ).scope;
        } catch {
          // reported by the nats section itself
        }
      }
      accounts.set(user.accountId, base);
      defaultAccount = user.accountId;
    }
    if (o.accounts !== undefined) {
      if (!Array.isArray(o.accounts)) {
        problems.add(
          'nats.callout.accounts',
          'must be a list of { accountId, signingKey, accountJwt? }',
        );
      } else {
        o.accounts.forEach((a: unknown, i) => {
          const path = `nats.callout.accounts[${i}]`;
          if (!isPlainObject(a))
            return problems.add(
              path,
              'must be { accountId, signingKey, accountJwt? }',
            );
          const id = problems.attempt(`${path}.accountId`, () =>
            checkPublicNkey(a.accountId, `${path}.accountId`, ['account']),
          );
          const key = problems.attempt(`${path}.signingKey`, () =>
            decodeSeed(a.signingKey, `${path}.signingKey`, ['account']),
          );
          if (!id || !key) return;
          let scope: NatsSigningKeyScope = 'unknown';
          if (a.accountJwt !== undefined) {
            const facts = problems.attempt(`${path}.accountJwt`, () =>
              inspectAccountJwt(a.accountJwt, id, key.publicKey),
            );
            if (facts) scope = facts.scope;
          }
          accounts.set(id, {
            account: id,
            signer: new NkeyJwtSigner(key),
            accountJson: key.publicKey === id ? undefined : JSON.stringify(id),
            scope,
          });
        });
      }
    }
    if (o.account !== undefined) {
      const id = problems.attempt('nats.callout.account', () =>
        checkPublicNkey(o.account, 'nats.callout.account', ['account']),
      );
      if (id && !accounts.has(id))
        problems.add(
          'nats.callout.account',
          'is not nats.accountId nor in nats.callout.accounts (no key to sign its users)',
        );
      else if (id) defaultAccount = id;
    }
    const calloutAccount =
      o.calloutAccount === undefined
        ? user.accountId
        : problems.attempt('nats.callout.calloutAccount', () =>
            checkPublicNkey(o.calloutAccount, 'nats.callout.calloutAccount', [
              'account',
            ]),
          );
    requestSubject = calloutAccount;
    if (o.issuerKey !== undefined) {
      responseSigner = problems.attempt('nats.callout.issuerKey', () =>
        decodeSeed(o.issuerKey, 'nats.callout.issuerKey', ['account']),
      );
    } else if (
      calloutAccount !== undefined &&
      calloutAccount === user.accountId
    ) {
      responseSigner = user.signingKey;
    } else if (calloutAccount !== undefined) {
      problems.add(
        'nats.callout.issuerKey',
        'is required when the callout account is not nats.accountId: a key (or signing key) of the callout account signs the responses',
      );
    }
  }
  const authorizer = o.authorizer;
  if (
    authorizer !== undefined &&
    authorizer !== 'service-token' &&
    authorizer !== 'password' &&
    typeof authorizer !== 'function'
  ) {
    problems.add(
      'nats.callout.authorizer',
      "must be 'service-token', 'password' or an authorizer class (default: the method marked @NatsAuthCallout())",
    );
  }
  let tagClaims: string[] = [];
  if (o.tagClaims !== undefined) {
    if (
      !Array.isArray(o.tagClaims) ||
      o.tagClaims.some(
        (c) => typeof c !== 'string' || !/^[a-z0-9_-]{1,64}$/.test(c),
      )
    ) {
      problems.add(
        'nats.callout.tagClaims',
        'must be a list of claim names (lower case: they become tag prefixes, team → team:blue)',
      );
    } else {
      tagClaims = o.tagClaims as string[];
    }
  }
  const audience = checkAudience(problems, o.audience);
  const permissions = checkPermissions(problems, o.permissions);
  const emptyAllow = o.emptyAllow ?? 'refuse-connection';
  if (emptyAllow !== 'refuse-connection' && emptyAllow !== 'deny-all') {
    problems.add(
      'nats.callout.emptyAllow',
      "must be 'refuse-connection' or 'deny-all'",
    );
  }
  if (authorizer === 'password' && permissions !== undefined) {
    checkNoTags(problems, permissions);
  }
  let users: Map<string, Buffer> | undefined;
  if (o.users !== undefined) {
    if (
      !isPlainObject(o.users) ||
      Object.values(o.users).some((p) => typeof p !== 'string' || p === '')
    ) {
      problems.add(
        'nats.callout.users',
        'must be an object { name: password } (JSON in the environment)',
      );
    } else {
      users = new Map(
        Object.entries(o.users as Record<string, string>).map(([n, p]) => [
          n,
          createHash('sha256').update(p).digest(),
        ]),
      );
    }
  }
  if (authorizer === 'password') {
    if (!users)
      problems.add(
        'nats.callout.users',
        "is required by the 'password' authorizer",
      );
    if (context.production) {
      problems.add(
        'nats.callout.authorizer',
        "'password' is a development authorizer and is refused when NODE_ENV is production",
      );
    } else {
      context.logger.warn?.(
        "NATS auth callout: the 'password' authorizer is for development only",
      );
    }
  }
  if (
    problems.list.length > start ||
    !responseSigner ||
    requestSubject === undefined ||
    defaultAccount === undefined
  ) {
    return undefined;
  }
  return {
    mode: mode as 'config' | 'operator',
    servers,
    connection,
    queue,
    xkey,
    timeoutMs,
    deadlineMs: Math.max(
      100,
      timeoutMs - Math.min(500, Math.round(timeoutMs / 8)),
    ),
    maxConcurrency,
    maxPending,
    maxRequestBytes,
    maxExpiresIn,
    requestSubject,
    responseSigner,
    defaultAccount,
    accounts,
    issuer,
    authorizer: authorizer as NatsCalloutOptions['authorizer'],
    audience,
    tagClaims,
    permissions,
    emptyAllow: emptyAllow as EmptyAllowPolicy,
    users,
  };
}
