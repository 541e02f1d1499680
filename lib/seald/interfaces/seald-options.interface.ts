import type { KeyObject } from 'node:crypto';
import type { ConfigProblems } from '../../config/config-problems.js';
import {
  custom,
  INVALID,
  type Invalid,
  type OptionsOf,
  type OptionValues,
  text,
} from '../../config/option-fields.js';

/**
 * Permissions of a Seald JWTSecret and of the tokens it signs (the `scopes` claim).
 *
 * @example
 * seald.createToken({ scopes: [SealdPermission.JOIN_TEAM], joinTeam: true });
 */
export const SealdPermission = {
  /** Every permission. Allowed in a secret's permissions and in a token's scopes. */
  ALL: -1,
  /** Anonymously create messages (encrypt for recipients without a Seald identity on this side). */
  ANONYMOUS_CREATE_MESSAGE: 0,
  /** Retrieve the recipients' encryption keys. */
  ANONYMOUS_FIND_KEYS: 1,
  /** Retrieve the recipients' SigChain (unused by Seald today). */
  ANONYMOUS_FIND_SIGCHAIN: 2,
  /** Add an SDK identity to your team. */
  JOIN_TEAM: 3,
  /** Add a custom user id (connector) to an SDK identity. */
  ADD_CONNECTOR: 4,
  /** Retrieve a symmetric encryption key anonymously (newer SDKs). */
  ANONYMOUS_FIND_SYMENC_KEY: 5,
} as const;

/** One of the {@link SealdPermission} values. */
export type SealdPermission =
  (typeof SealdPermission)[keyof typeof SealdPermission];

/** Every permission value Seald knows, for messages and checks. */
export const SEALD_PERMISSION_VALUES: ReadonlySet<number> = new Set(
  Object.values(SealdPermission),
);

/** A permission given as a number or (from the environment) as integer text; undefined when it is neither. */
function toPermission(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return Number(v);
  return undefined;
}

/** `seald.permissions`: known permissions, each once; `[ALL]` when -1 is among them. */
function checkPermissions(
  value: unknown,
  path: string,
  problems: ConfigProblems,
): SealdPermission[] | Invalid {
  const known = [...SEALD_PERMISSION_VALUES].join(', ');
  if (!Array.isArray(value) || value.length === 0) {
    problems.add(
      path,
      `must be a non-empty list of permission integers (${known})`,
    );
    return INVALID;
  }
  const before = problems.list.length;
  const parsed: SealdPermission[] = [];
  value.forEach((item: unknown, i) => {
    const p = toPermission(item);
    if (p === undefined) {
      problems.add(
        path,
        `item ${i} is not an integer (known permissions: ${known})`,
      );
    } else if (!SEALD_PERMISSION_VALUES.has(p)) {
      problems.add(
        path,
        `item ${i} (${p}) is not a known permission (known: ${known})`,
      );
    } else if (!parsed.includes(p as SealdPermission)) {
      parsed.push(p as SealdPermission);
    }
  });
  if (problems.list.length > before) return INVALID;
  return parsed.includes(SealdPermission.ALL) ? [SealdPermission.ALL] : parsed;
}

/**
 * The options of the `seald` section, each declared once (type, default, check, secrecy, description); the public
 * type is {@link SealdJwtOptions}, the variables are `JWT_ISSUER_SEALD_<OPTION>` (internal).
 */
export const SEALD_OPTIONS = {
  /** The JWTSecretId (not secret): the `iss` of every token. Required once the section is on. */
  secretId: text({ required: 'is required (the JWTSecretId)' }),
  /**
   * The JWTSecret; its UTF-8 (ASCII) bytes are the HS256 key, imported once; never printed. Required once the
   * section is on.
   */
  secret: text({ secret: true, required: 'is required (the JWTSecret)' }),
  /**
   * The permissions the JWTSecret was created with (`SealdPermission`: -1, 0…5), so that a token asking for more is
   * refused here rather than by Seald: token `scopes` must be a subset, and `-1` among them allows every scope. In
   * the environment, comma-separated integers, e.g. `3,4`.
   * @default [-1] (`SealdPermission.ALL`)
   */
  permissions: custom<readonly (SealdPermission | number)[], SealdPermission[]>(
    { env: 'list', default: [SealdPermission.ALL] },
    checkPermissions,
  ),
  /**
   * The Seald application id: connector values must end in `@<appId>`, and the sign-up token builds its connector
   * from it (`createSignupToken({ userId })` needs it). @default none
   */
  appId: text({
    refuse: /[@\s]/,
    message:
      'must be a non-empty string without "@" or spaces (the Seald application id)',
  }),
};

/**
 * Options of the `seald` section (environment: `JWT_ISSUER_SEALD_*`).
 *
 * @example
 * JwtIssuerModule.forRoot({ seald: { secretId: '32266d8c-…', secret: process.env.SEALD_SECRET!, appId: '…' } })
 */
export interface SealdJwtOptions extends OptionsOf<typeof SEALD_OPTIONS> {}

/** The `seald` section after validation (internal). */
export interface ResolvedSealdJwtOptions extends Pick<
  OptionValues<typeof SEALD_OPTIONS>,
  'secretId' | 'permissions' | 'appId'
> {
  /** The HMAC key, imported once. */
  key: KeyObject;
}

/** A `connector_add` claim: a custom user id `<customId>@<appId>` of type `AP`. */
export interface SealdConnector {
  value: string;
  type: 'AP';
}

/**
 * Options of {@link SealdJwtService.createToken}. Each option present becomes its claim; absent options add
 * nothing. `iss` and `iat` are always set.
 */
export interface SealdTokenOptions {
  /** `scopes`: the token's permissions, a subset of the secret's. Absent: every permission of the secret. */
  scopes?: readonly (SealdPermission | number)[];
  /** `recipients`: sealdIds the token may act for (anonymous encryption). Not empty. */
  recipients?: readonly string[];
  /** `owner`: sealdId of the user who will own the created messages. */
  owner?: string;
  /** `join_team`: let the identity join your team. */
  joinTeam?: boolean;
  /** `connector_add`: a custom user id to add, `"<customId>@<appId>"` (type `AP`). */
  connectorAdd?: string | Readonly<SealdConnector>;
  /**
   * A random UUID `jti` makes the token single-use. `false` leaves `jti` out (usable until it expires).
   * @default true
   */
  oneTime?: boolean;
  /**
   * `iat` (seconds since the epoch, or a Date); Seald honours the token for 10 minutes after it.
   * @default now
   */
  issuedAt?: number | Date;
}

/** Options of {@link SealdJwtService.createSignupToken}. */
export interface SealdSignupTokenOptions {
  /**
   * A custom user id to attach to the new identity: adds `connector_add` `{ value: "<userId>@<appId>", type: "AP" }`
   * (needs `seald.appId`) and the `ADD_CONNECTOR` scope.
   */
  userId?: string;
  /** @default true */
  oneTime?: boolean;
  /** @default now */
  issuedAt?: number | Date;
}

/** Options of {@link SealdJwtService.createAnonymousEncryptionToken}. */
export interface SealdAnonymousTokenOptions {
  /** sealdIds of the recipients. Not empty. */
  recipients: readonly string[];
  /** sealdId of the owner of the created messages (needed to create messages, not to find keys). */
  owner?: string;
  /**
   * @default [ANONYMOUS_CREATE_MESSAGE, ANONYMOUS_FIND_KEYS] with an owner, [ANONYMOUS_FIND_KEYS] without
   */
  scopes?: readonly (SealdPermission | number)[];
  /** @default true */
  oneTime?: boolean;
  /** @default now */
  issuedAt?: number | Date;
}

/** The claims of a Seald token, as signed. */
export interface SealdTokenClaims {
  iss: string;
  iat: number;
  jti?: string;
  scopes?: SealdPermission[];
  recipients?: string[];
  owner?: string;
  join_team?: boolean;
  connector_add?: SealdConnector;
}
