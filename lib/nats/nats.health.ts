import {
  type JwtIssuerHealthPart,
  type JwtIssuerHealthStatus,
  reportTime,
  secondsBetween,
} from '../common/health.js';
import type { ResolvedNatsUserJwtOptions } from './interfaces/nats-options.interface.js';
import { NatsUserJwtService } from './nats-user-jwt.service.js';

/** An account JWT that expires within this time makes the part `degraded` (renew it). */
export const ACCOUNT_JWT_EXPIRY_WARNING_MS = 7 * 24 * 3600 * 1000;

/**
 * The `nats` part of the health report: the signing key (decoded at start-up, so always loaded) and, when an
 * account JWT is configured, its expiry: `down` once it has expired (the server then refuses the account's users),
 * `degraded` within 7 days of it.
 */
export function natsHealth(
  _options: ResolvedNatsUserJwtOptions,
  nats: NatsUserJwtService,
): JwtIssuerHealthPart {
  const now = Date.now();
  const part: Record<string, unknown> = {
    accountId: nats.accountId,
    signingKey: {
      status: 'up',
      publicKey: nats.signingPublicKey,
      scope: nats.signingKeyScope,
    },
  };
  let status: JwtIssuerHealthStatus = 'up';
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
      expiresInSeconds: expMs === undefined ? null : secondsBetween(now, expMs),
    };
  }
  return { status, ...part };
}
