import {
  type JwtIssuerHealthPart,
  type JwtIssuerHealthStatus,
  reportTime,
  secondsBetween,
} from '../common/health.js';
import type { NatsCalloutResponder } from './callout/nats-callout.responder.js';
import type { ResolvedNatsSection } from './interfaces/nats-options.interface.js';
import type { NatsUserJwtService } from './nats-user-jwt.service.js';

/** An account JWT that expires within this time makes the part `degraded` (renew it). */
export const ACCOUNT_JWT_EXPIRY_WARNING_MS = 7 * 24 * 3600 * 1000;

/**
 * The `nats` part of the health report.
 * - User JWTs (when `accountId`/`signingKey` are set): the signing key (decoded at start-up, so always loaded) and,
 *   when an account JWT is configured, its expiry: `down` once it has expired (the server then refuses the account's
 *   users), `degraded` within 7 days of it.
 * - The auth-callout responder (when `nats.callout` is set): `up` while it is connected and subscribed, `down`
 *   while it connects or reconnects (every client the server sends to the callout is refused meanwhile), with its
 *   counters since start.
 * The part's status is the worst of the two.
 */
export function natsHealth(
  options: ResolvedNatsSection,
  nats: NatsUserJwtService,
  callout?: NatsCalloutResponder,
): JwtIssuerHealthPart {
  const now = Date.now();
  const part: Record<string, unknown> = {};
  let status: JwtIssuerHealthStatus = 'up';
  if (options.signingKey !== undefined) {
    part.accountId = nats.accountId;
    part.signingKey = {
      status: 'up',
      publicKey: nats.signingPublicKey,
      scope: nats.signingKeyScope,
    };
    if (nats.accountJwtConfigured) {
      const expMs =
        nats.accountJwtExpiresAt === undefined
          ? undefined
          : nats.accountJwtExpiresAt * 1000;
      status =
        expMs === undefined
          ? 'up'
          : now >= expMs
            ? 'down'
            : expMs - now < ACCOUNT_JWT_EXPIRY_WARNING_MS
              ? 'degraded'
              : 'up';
      part.accountJwt = {
        status,
        expiresAt: reportTime(expMs),
        expiresInSeconds:
          expMs === undefined ? null : secondsBetween(now, expMs),
      };
    }
  }
  if (options.callout !== undefined && callout !== undefined) {
    const { state, since } = callout.connectionState();
    const calloutStatus: JwtIssuerHealthStatus =
      state === 'connected' ? 'up' : 'down';
    if (calloutStatus === 'down') status = 'down';
    part.callout = {
      status: calloutStatus,
      state,
      since: reportTime(since),
      mode: options.callout.mode,
      xkey: options.callout.xkey !== undefined,
      ...callout.stats(),
    };
  }
  return { status, ...part };
}
