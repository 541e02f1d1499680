import type { AccountJwtFacts } from '../account-jwt.js';
import type { ResolvedNatsCalloutOptions } from '../callout/callout.options.js';
import type { DecodedSeed } from '../nkey.js';
import type { NatsCalloutOptions } from './nats-callout-options.interface.js';

/**
 * Options of the 'nats' section: NATS user JWTs signed by an account's (scoped) signing key. Each option may also come
 * from its environment variable; explicit options win key by key.
 */
export interface NatsUserJwtOptions {
  /** Public key of the account, `A…` (required; env `JWT_ISSUER_NATS_ACCOUNT_ID`). */
  accountId?: string;
  /**
   * Seed of the account's signing key, `SA…` (required; a secret; env `JWT_ISSUER_NATS_SIGNING_KEY`). Preferably a
   * scoped signing key: its template then gives every user its permissions.
   */
  signingKey?: string;
  /**
   * Default lifetime of issued user JWTs, in whole seconds (env `JWT_ISSUER_NATS_EXPIRES_IN`).
   * @default none: user JWTs never expire unless a call passes `expiresIn`
   */
  expiresIn?: number;
  /**
   * The account JWT (env `JWT_ISSUER_NATS_ACCOUNT_JWT`). When given, bootstrap checks it: signature, subject =
   * `accountId`, the signing key is listed, and whether it is scoped (then permissions/limits are refused per call,
   * and the template is reported). @default none: the key's scope is unknown
   */
  accountJwt?: string;
  /**
   * The auth-callout responder (nats-server ≥ 2.10): see {@link NatsCalloutOptions}. In config mode `accountId` and
   * `signingKey` are not needed (the callout's `issuerKey` signs). @default none: no responder
   */
  callout?: NatsCalloutOptions;
}

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
