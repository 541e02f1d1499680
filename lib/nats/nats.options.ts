import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import { INVALID } from '../config/option-fields.js';
import { readOptions } from '../config/read-options.js';
import { isPlainObject } from '../common/is-plain-object.js';
import { type AccountJwtFacts, inspectAccountJwt } from './account-jwt.js';
import { normalizeCalloutOptions } from './callout/callout.options.js';
import {
  NATS_OPTIONS,
  type ResolvedNatsSection,
} from './interfaces/nats-options.interface.js';
import { checkPublicNkey, type DecodedSeed, decodeSeed } from './nkey.js';

/** Validates the 'nats' section; every problem goes to `problems`. Secrets are never quoted. */
export function normalizeNatsUserJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedNatsSection | undefined {
  // A config-mode responder alone needs no account or signing key (its issuerKey signs).
  const calloutOnly =
    isPlainObject(raw) &&
    raw.callout !== undefined &&
    (raw.callout as { mode?: unknown } | null)?.mode !== 'operator' &&
    raw.accountId === undefined &&
    raw.signingKey === undefined;
  const read = readOptions('nats', raw, NATS_OPTIONS, problems, {
    accountId: (v, at) =>
      calloutOnly
        ? undefined
        : (problems.attempt(at, () => checkPublicNkey(v, at, ['account'])) ??
          INVALID),
    signingKey: (v, at) =>
      calloutOnly
        ? undefined
        : (problems.attempt(at, () => decodeSeed(v, at, ['account'])) ??
          INVALID),
  });
  if (!read) return undefined;
  const { accountId, signingKey, expiresIn, accountJwt } = read.values;
  const account = checkAccountJwt(
    accountJwt,
    accountId,
    signingKey,
    problems,
    context,
  );
  const callout =
    read.given.callout === undefined
      ? undefined
      : normalizeCalloutOptions(read.given.callout, problems, context, {
          accountId,
          signingKey,
          accountJwt,
        });
  if (read.given.callout !== undefined && !callout) return undefined;
  if (calloutOnly) return { expiresIn, callout: callout! };
  if (!accountId || !signingKey) return undefined;
  return { accountId, signingKey, expiresIn, account, callout };
}

/** `nats.accountJwt`, checked against the account and its signing key (when both are valid); logs what it says. */
function checkAccountJwt(
  accountJwt: unknown,
  accountId: string | undefined,
  signingKey: DecodedSeed | undefined,
  problems: ConfigProblems,
  context: NormalizeContext,
): AccountJwtFacts | undefined {
  if (accountJwt === undefined) return undefined;
  if (!accountId || !signingKey) {
    if (typeof accountJwt !== 'string')
      problems.add('nats.accountJwt', 'must be a string (a NATS account JWT)');
    return undefined;
  }
  const account = problems.attempt('nats.accountJwt', () =>
    inspectAccountJwt(accountJwt, accountId, signingKey.publicKey),
  );
  if (account) {
    context.logger.log(
      account.scope === 'scoped'
        ? `NATS: signing key ${signingKey.publicKey} is a scoped signing key (role ${account.role ?? '-'}) of account ${accountId}; users get the template ${JSON.stringify(account.template)}`
        : `NATS: signing key ${signingKey.publicKey} is a non-scoped signing key of account ${accountId}; users carry their own permissions and limits`,
    );
  }
  return account;
}
