import type { AccountJwtFacts } from '../account-jwt.js';
import type { ResolvedNatsCalloutOptions } from '../callout/callout.options.js';
import type { DecodedSeed } from '../nkey.js';
import {
  custom,
  number,
  type OptionsOf,
  section,
} from '../../config/option-fields.js';
import {
  CALLOUT_OPTIONS,
  type NatsCalloutOptions,
} from './nats-callout-options.interface.js';

/**
 * The options of the `nats` section, each declared once (type, default, bounds, secrecy, description); the public
 * type is {@link NatsUserJwtOptions}, the variables are `JWT_ISSUER_NATS_<OPTION>` (internal).
 */
export const NATS_OPTIONS = {
  /**
   * Public key of the account the users belong to, `A…` (their `nats.issuer_account`). Required once the section is
   * on (any of its options or variables set).
   */
  accountId: custom<string>({ env: 'string' }),
  /**
   * Seed of the account's signing key, `SA…` (a secret), decoded once at bootstrap. Required once the section is on.
   * Preferably a scoped signing key: its template then gives every user its permissions.
   */
  signingKey: custom<string>({ env: 'string', secret: true }),
  /**
   * Default lifetime of issued user JWTs, in whole seconds (at least 1); a call's `expiresIn` wins.
   * @default none: user JWTs never expire unless a call passes `expiresIn`
   */
  expiresIn: number({
    min: 1,
    integer: true,
    message: 'must be a whole number of seconds ≥ 1',
  }),
  /**
   * The account JWT. When given, bootstrap checks it: signature, subject = `accountId`, the signing key is listed,
   * and whether the key is scoped (then permissions/limits are refused per call, and the template is logged).
   * @default none: the key's scope is unknown
   */
  accountJwt: custom<string>({ env: 'string' }),
  /**
   * The auth-callout responder (nats-server ≥ 2.10): see {@link NatsCalloutOptions}. In config mode `accountId` and
   * `signingKey` are not needed (the callout's `issuerKey` signs). @default none: no responder
   */
  callout: section<NatsCalloutOptions>(CALLOUT_OPTIONS),
};

/**
 * Options of the 'nats' section: NATS user JWTs signed by an account's (scoped) signing key. Each option may also come
 * from its environment variable (`JWT_ISSUER_NATS_*`); explicit options win key by key.
 */
export interface NatsUserJwtOptions extends OptionsOf<typeof NATS_OPTIONS> {}

/** The 'nats' section after validation (internal). */
export interface ResolvedNatsUserJwtOptions {
  accountId: string;
  signingKey: DecodedSeed;
  expiresIn?: number;
  /** What the account JWT says about the signing key, when one was configured. */
  account?: AccountJwtFacts;
  callout?: ResolvedNatsCalloutOptions;
}

/** The 'nats' section after validation: a config-mode responder needs no account or signing key (internal). */
export type ResolvedNatsSection =
  | ResolvedNatsUserJwtOptions
  | {
      accountId?: undefined;
      signingKey?: undefined;
      expiresIn?: number;
      account?: undefined;
      callout: ResolvedNatsCalloutOptions;
    };
