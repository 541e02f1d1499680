import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ConfigProblems } from '../../config/config-problems.js';
import type { NormalizeContext } from '../../config/normalize-context.interface.js';
import { isPlainObject } from '../../common/is-plain-object.js';
import { inspectAccountJwt } from '../account-jwt.js';
import { INVALID, type Invalid } from '../../config/option-fields.js';
import { readOptions } from '../../config/read-options.js';
import {
  CALLOUT_OPTIONS,
  type NatsCalloutOptions,
} from '../interfaces/nats-callout-options.interface.js';
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

const ACCOUNT_NAME = /^[A-Za-z0-9_$-][A-Za-z0-9_$.-]{0,127}$/;

/** `creds`: the `.creds` text, or read from the file it names. */
function readCreds(
  value: string | undefined,
  path: string,
  problems: ConfigProblems,
): string | undefined | Invalid {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    problems.add(path, 'must be a .creds text or the path of a .creds file');
    return INVALID;
  }
  let text = value;
  if (!value.includes('-----BEGIN')) {
    if (value.length > 4096 || !existsSync(value)) {
      problems.add(
        path,
        'is neither a .creds text nor the path of a readable .creds file',
      );
      return INVALID;
    }
    text = readFileSync(value, 'utf8');
  }
  if (
    !/-----BEGIN NATS USER JWT-----/.test(text) ||
    !/-----BEGIN USER NKEY SEED-----/.test(text)
  ) {
    problems.add(
      path,
      'is not a .creds text (a NATS USER JWT block and a USER NKEY SEED block)',
    );
    return INVALID;
  }
  return text;
}

/** Checks a permissions template of the built-in authorizers: the user model's own check, with the template tokens. */
function checkPermissions(
  value: NatsUserPermissions | undefined,
  path: string,
  problems: ConfigProblems,
): NatsUserPermissions | undefined | Invalid {
  if (value === undefined) return undefined;
  return (
    problems.attempt(path, () => {
      // The user model's validation, on the template itself (template tokens are plain subject characters).
      userModelJson(value, undefined, 'unscoped');
      return value;
    }) ?? INVALID
  );
}

/** The `'password'` authorizer's users: user name → SHA-256 of the password. */
function hashPasswords(
  users: Record<string, string> | undefined,
): Map<string, Buffer> | undefined {
  return (
    users &&
    new Map(
      Object.entries(users).map(([n, p]) => [
        n,
        createHash('sha256').update(p).digest(),
      ]),
    )
  );
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

/** How the responder connects: user and pass together; config mode needs a user (or token, creds), operator creds. */
function checkConnection(
  {
    user,
    pass,
    token,
    creds,
  }: Partial<Record<'user' | 'pass' | 'token' | 'creds', string>>,
  mode: 'config' | 'operator' | undefined,
  problems: ConfigProblems,
): void {
  if ((user === undefined) !== (pass === undefined)) {
    problems.add(
      'nats.callout.user',
      'user and pass go together (a user listed in auth_users)',
    );
  }
  if (
    mode === 'config' &&
    user === undefined &&
    token === undefined &&
    creds === undefined
  ) {
    problems.add(
      'nats.callout.user',
      'is required in config mode: the responder connects as a user listed in auth_callout.auth_users (user + pass)',
    );
  }
  if (mode === 'operator' && creds === undefined) {
    problems.add(
      'nats.callout.creds',
      'is required in operator mode: the .creds of a user listed in the account’s authorization.auth_users',
    );
  }
}

/** Who signs what: the response signer, the subject of requests, the default account and the accounts' signers. */
interface CalloutSigning {
  responseSigner: DecodedSeed | undefined;
  requestSubject: string | undefined;
  defaultAccount: string | undefined;
  accounts: Map<string, CalloutAccountSigner>;
  issuer?: NkeyJwtSigner;
}

/** Config mode: the issuer key signs responses and every user JWT; accounts are names. */
function configModeSigning(
  o: Readonly<Record<string, unknown>>,
  problems: ConfigProblems,
): CalloutSigning {
  const responseSigner = problems.attempt('nats.callout.issuerKey', () =>
    decodeSeed(o.issuerKey, 'nats.callout.issuerKey', ['account']),
  );
  let defaultAccount = '$G';
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
  return {
    responseSigner,
    requestSubject: responseSigner?.publicKey,
    defaultAccount,
    accounts: new Map(),
    issuer: responseSigner && new NkeyJwtSigner(responseSigner),
  };
}

/** The signer of one target account of operator mode. */
function accountSigner(
  id: string,
  key: DecodedSeed,
  scope: NatsSigningKeyScope,
): CalloutAccountSigner {
  return {
    account: id,
    signer: new NkeyJwtSigner(key),
    accountJson: key.publicKey === id ? undefined : JSON.stringify(id),
    scope,
  };
}

/** `accounts`: the further target accounts of operator mode, each with its signing key. */
function readAccounts(
  list: unknown,
  accounts: Map<string, CalloutAccountSigner>,
  problems: ConfigProblems,
): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) {
    problems.add(
      'nats.callout.accounts',
      'must be a list of { accountId, signingKey, accountJwt? }',
    );
    return;
  }
  list.forEach((a: unknown, i) => {
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
    accounts.set(id, accountSigner(id, key, scope));
  });
}

/**
 * Operator mode: user JWTs are signed by the target account's signing key (`nats.signingKey`, `accounts`), responses
 * by a key of the callout account.
 */
function operatorModeSigning(
  o: Readonly<Record<string, unknown>>,
  user: CalloutUserKeys,
  problems: ConfigProblems,
): CalloutSigning {
  const accounts = new Map<string, CalloutAccountSigner>();
  let defaultAccount: string | undefined;
  if (!user.accountId || !user.signingKey) {
    problems.add(
      'nats.callout.mode',
      'operator mode signs user JWTs with nats.accountId and nats.signingKey: set both',
    );
  } else {
    let scope: NatsSigningKeyScope = 'unknown';
    if (typeof user.accountJwt === 'string') {
      try {
        scope = inspectAccountJwt(
          user.accountJwt,
          user.accountId,
          user.signingKey.publicKey,
        ).scope;
      } catch {
        // reported by the nats section itself
      }
    }
    accounts.set(
      user.accountId,
      accountSigner(user.accountId, user.signingKey, scope),
    );
    defaultAccount = user.accountId;
  }
  readAccounts(o.accounts, accounts, problems);
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
  let responseSigner: DecodedSeed | undefined;
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
  return {
    responseSigner,
    requestSubject: calloutAccount,
    defaultAccount,
    accounts,
  };
}

/** The built-in authorizers' rules: no tags for `'password'`, which needs users and is refused in production. */
function checkAuthorizer(
  {
    authorizer,
    permissions,
    users,
  }: Pick<NatsCalloutOptions, 'authorizer' | 'permissions'> & {
    users: unknown;
  },
  problems: ConfigProblems,
  context: NormalizeContext,
): void {
  if (authorizer !== 'password') return;
  if (permissions !== undefined) checkNoTags(problems, permissions);
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

/** The `nats` section's own account, signing key and account JWT: operator mode's defaults. */
export interface CalloutUserKeys {
  accountId?: string;
  signingKey?: DecodedSeed;
  accountJwt?: unknown;
}

/**
 * Validates `nats.callout`; every problem goes to `problems`, secrets never quoted. `user` is the `nats` section's
 * own signing key and account (operator mode's defaults), when configured. Steps: the options of the table (each
 * checked, the key and file conversions in their place), how the responder connects, who signs (by mode), and the
 * built-in authorizers' rules.
 */
export function normalizeCalloutOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
  user: CalloutUserKeys,
): ResolvedNatsCalloutOptions | undefined {
  const read = readOptions('nats.callout', raw, CALLOUT_OPTIONS, problems, {
    creds: (v, at) => readCreds(v, at, problems),
    xkey: (v, at) =>
      v === undefined
        ? undefined
        : (problems.attempt(at, () => new XkeyBox(v, at)) ?? INVALID),
    permissions: (v, at) => checkPermissions(v, at, problems),
    users: (v) => hashPasswords(v),
  });
  if (!read) return undefined;
  const mode = read.refused.has('mode') ? undefined : read.values.mode;
  checkConnection(read.values, mode, problems);
  const signing =
    mode === 'config'
      ? configModeSigning(read.given, problems)
      : mode === 'operator'
        ? operatorModeSigning(read.given, user, problems)
        : undefined;
  checkAuthorizer(read.values, problems, context);
  const v = read.complete();
  const { responseSigner, requestSubject, defaultAccount } = signing ?? {};
  if (
    !v ||
    !signing ||
    !responseSigner ||
    requestSubject === undefined ||
    defaultAccount === undefined
  ) {
    return undefined;
  }
  const timeoutMs = Math.round(v.timeout * 1000);
  return {
    mode: v.mode,
    servers: v.servers,
    connection: {
      user: v.user,
      pass: v.pass,
      token: v.token,
      creds: v.creds,
      name: v.name,
    },
    queue: v.queue,
    xkey: v.xkey,
    timeoutMs,
    deadlineMs: Math.max(
      100,
      timeoutMs - Math.min(500, Math.round(timeoutMs / 8)),
    ),
    maxConcurrency: v.maxConcurrency,
    maxPending: v.maxPending,
    maxRequestBytes: v.maxRequestBytes,
    maxExpiresIn: v.maxExpiresIn,
    requestSubject,
    responseSigner,
    defaultAccount,
    accounts: signing.accounts,
    issuer: signing.issuer,
    authorizer: v.authorizer,
    audience: v.audience,
    tagClaims: v.tagClaims,
    permissions: v.permissions,
    emptyAllow: v.emptyAllow,
    users: v.users,
  };
}
