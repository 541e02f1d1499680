import type { KeyObject } from 'node:crypto';
import type { PrivateKeyInput } from '../../common/keys.js';
import {
  custom,
  number,
  type OptionsOf,
  type OptionValues,
  text,
} from '../../config/option-fields.js';

/** The longest lifetime the Vonage platform honours (24 h). */
export const VONAGE_MAX_TTL = 86_400;

/**
 * The options of the `vonage` section, each declared once (type, default, bounds, secrecy, description); the public
 * type is {@link VonageJwtOptions}, the variables are `JWT_ISSUER_VONAGE_<OPTION>` (internal).
 */
export const VONAGE_OPTIONS = {
  /** The Vonage application id (`application_id` claim). Required once the section is on. */
  applicationId: text({
    required: true,
    refuse: /\s/,
    message:
      'must be a non-empty string without spaces (the Vonage application id)',
  }),
  /**
   * The application's `private.key` (RSA, at least 2048 bits): PEM text (in the variable, a one-line PEM with
   * literal `\n` escapes is accepted), JWK, the path of a key file, or a KeyObject. Imported once at start-up.
   * Required once the section is on. A public key, a malformed PEM, an unreadable path or a non-RSA key is a
   * start-up error that never quotes the key.
   */
  privateKey: custom<PrivateKeyInput>({
    env: 'string',
    secret: true,
    required:
      "is required (the application's private key: PEM, JWK or file path)",
  }),
  /**
   * Lifetime of a token in seconds when `createToken` gets no `ttl` (1 … 86400); 15 min is the platform's own
   * default.
   * @default 900
   */
  defaultTtl: number({
    default: 900,
    min: 1,
    max: VONAGE_MAX_TTL,
    integer: true,
    message: `must be a whole number of seconds from 1 to ${VONAGE_MAX_TTL} (24 h, the most the platform honours)`,
  }),
};

/**
 * Options of the `vonage` section (environment: `JWT_ISSUER_VONAGE_*`).
 *
 * @example
 * JwtIssuerModule.forRoot({ vonage: { applicationId: 'aaaaaaaa-bbbb-…', privateKey: './private.key' } })
 */
export interface VonageJwtOptions extends OptionsOf<typeof VONAGE_OPTIONS> {}

/** The `vonage` section after validation (internal). */
export interface ResolvedVonageJwtOptions extends Pick<
  OptionValues<typeof VONAGE_OPTIONS>,
  'applicationId' | 'defaultTtl'
> {
  key: KeyObject;
}

/** HTTP methods an ACL rule may allow. */
export type VonageAclMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What one ACL path allows: every method and object when empty. */
export interface VonageAclRule {
  /** Methods allowed on the path (all when absent). */
  methods?: VonageAclMethod[];
  /** Filters on the objects the path reaches, as the platform defines them. */
  filters?: Record<string, unknown>;
}

/** The `acl` claim of a Vonage Client SDK token. */
export interface VonageAcl {
  paths: Record<string, VonageAclRule>;
}

/** Options of {@link VonageJwtService.createToken}. Never mutated. */
export interface VonageTokenOptions {
  /** `sub`: the name of the Vonage user the token logs in. */
  sub?: string;
  /** `acl`: what the token allows; build it with {@link vonageAcl}. */
  acl?: Readonly<VonageAcl>;
  /**
   * Lifetime in seconds: `exp = iat + ttl`. Must be a whole number in 1 … 86400 (the platform never honours more
   * than 24 h).
   * @default the `vonage.defaultTtl` option (900)
   */
  ttl?: number;
  /** `nbf`: not valid before (seconds since the epoch, or a Date); must come before `exp`. */
  nbf?: number | Date;
  /**
   * `jti`: a unique id for the token.
   * @default a random UUID v4
   */
  jti?: string;
}

/** The claims of a Vonage token, as signed. */
export interface VonageTokenClaims {
  application_id: string;
  iat: number;
  jti: string;
  exp: number;
  nbf?: number;
  sub?: string;
  acl?: VonageAcl;
}
