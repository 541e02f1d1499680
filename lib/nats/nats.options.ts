import type { ConfigProblems } from '../config/config-problems.js';
import type { NormalizeContext } from '../config/normalize-context.interface.js';
import { type AccountJwtFacts, inspectAccountJwt } from './account-jwt.js';
import { normalizeCalloutOptions } from './callout/callout.options.js';
import type { ResolvedNatsSection } from './interfaces/nats-options.interface.js';
import { checkPublicNkey, type DecodedSeed, decodeSeed } from './nkey.js';

const KNOWN = ['accountId', 'signingKey', 'expiresIn', 'accountJwt', 'callout'];

/** Validates the 'nats' section; every problem goes to `problems`. Secrets are never quoted. */
export function normalizeNatsUserJwtOptions(
  raw: unknown,
  problems: ConfigProblems,
  context: NormalizeContext,
): ResolvedNatsSection | undefined {
  const o = problems.section('nats', raw, KNOWN);
  if (!o) return undefined;
  // A config-mode responder alone needs no account or signing key (its issuerKey signs).
  const calloutOnly =
    o.callout !== undefined &&
    (o.callout as { mode?: unknown } | null)?.mode !== 'operator' &&
    o.accountId === undefined &&
    o.signingKey === undefined;
  const accountId = calloutOnly
    ? undefined
    : problems.attempt('nats.accountId', () =>
        checkPublicNkey(o.accountId, 'nats.accountId', ['account']),
      );
  const signingKey: DecodedSeed | undefined = calloutOnly
    ? undefined
    : problems.attempt('nats.signingKey', () =>
        decodeSeed(o.signingKey, 'nats.signingKey', ['account']),
      );
  let expiresIn: number | undefined;
  if (o.expiresIn !== undefined) {
    if (
      typeof o.expiresIn !== 'number' ||
      !Number.isInteger(o.expiresIn) ||
      o.expiresIn < 1
    ) {
      problems.add('nats.expiresIn', 'must be a whole number of seconds ≥ 1');
    } else {
      expiresIn = o.expiresIn;
    }
  }
  let account: AccountJwtFacts | undefined;
  if (o.accountJwt !== undefined && accountId && signingKey) {
    account = problems.attempt('nats.accountJwt', () =>
      inspectAccountJwt(o.accountJwt, accountId, signingKey.publicKey),
    );
    if (account) {
      context.logger.log(
        account.scope === 'scoped'
          ? `NATS: signing key ${signingKey.publicKey} is a scoped signing key (role ${account.role ?? '-'}) of account ${accountId}; users get the template ${JSON.stringify(account.template)}`
          : `NATS: signing key ${signingKey.publicKey} is a non-scoped signing key of account ${accountId}; users carry their own permissions and limits`,
      );
    }
  } else if (o.accountJwt !== undefined && typeof o.accountJwt !== 'string') {
    problems.add('nats.accountJwt', 'must be a string (a NATS account JWT)');
  }
  const callout =
    o.callout === undefined
      ? undefined
      : normalizeCalloutOptions(o.callout, problems, context, {
          accountId,
          signingKey,
          accountJwt: o.accountJwt,
        });
  if (o.callout !== undefined && !callout) return undefined;
  if (calloutOnly) return { expiresIn, callout: callout! };
  if (!accountId || !signingKey) return undefined;
  return { accountId, signingKey, expiresIn, account, callout };
}
