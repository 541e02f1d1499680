import {
  type JwtIssuerHealthPart,
  type JwtIssuerHealthStatus,
  reportTime,
  secondsBetween,
  worstStatus,
} from '../common/health.js';
import { loggableIssuer } from './http/printable.js';
import type { RemoteJwksKeySource } from './verifying/remote-jwks.js';
import { KEY_STORE_SYNC_MS } from './issuing/key-store/publication-lead.js';
import type { ResolvedServiceTokenSection } from './interfaces/service-token-options.interface.js';
import type { ServiceTokenService } from './issuing/service-token.service.js';
import type { ServiceTokenVerifier } from './verifying/service-token.verifier.js';

/** A key store whose last successful sync is older than this (five sync rounds) is degraded. */
export const KEY_STORE_STALE_MS = 5 * KEY_STORE_SYNC_MS;

/**
 * The `service` part of the health report: this service's signing (key, rotation, shared key store) when it issues
 * tokens, and each trusted issuer. Rules (the operations page lists them):
 * - signing `down`: the key ring cannot sign (a shared development key not read from the store yet);
 * - rotation `degraded`: overdue (more than 60 s past its interval), failing, or still on the static key;
 * - key store `degraded`: the last sync failed, or the last successful one is older than 5 s;
 * - trusted issuer `down`: no usable key once its JWKS was asked for (the fetch failed, or the JWKS lists none and
 *   every key it withdrew is past its grace period), so no token of it can be verified; `degraded`: fetches fail
 *   while known keys are still used, or its JWKS lists no usable key while the keys it withdrew are in their grace
 *   period (from the fetch that finds them gone).
 */
export function serviceTokenHealth(
  s: ResolvedServiceTokenSection,
  service: ServiceTokenService,
  verifier: ServiceTokenVerifier,
): JwtIssuerHealthPart {
  const now = Date.now();
  const statuses: JwtIssuerHealthStatus[] = [];
  const part: Record<string, unknown> = {};
  if (s.signing) {
    const ring = service.keyRing.state();
    const signing = {
      status: (ring.signingKid === undefined
        ? 'down'
        : 'up') as JwtIssuerHealthStatus,
      issuer: loggableIssuer(s.signing.issuer),
      algorithm: s.signing.algorithm,
      kid: ring.signingKid ?? null,
      signingWith: ring.signingWith ?? null,
      developmentKey: s.signing.developmentKey,
      ...(ring.signingError === undefined ? {} : { error: ring.signingError }),
    };
    statuses.push(signing.status);
    part.signing = signing;
    if (s.signing.rotationInterval !== undefined) {
      const failing = service.lastRotationError !== undefined;
      const rotation = {
        status: (ring.rotationOnSchedule === false || failing
          ? 'degraded'
          : 'up') as JwtIssuerHealthStatus,
        intervalSeconds: s.signing.rotationInterval,
        onSchedule: ring.rotationOnSchedule ?? false,
        lastRotationAt: reportTime(ring.lastRotationAt),
        nextRotationAt: reportTime(ring.nextRotationAt),
        ...(failing ? { lastError: service.lastRotationError } : {}),
      };
      statuses.push(rotation.status);
      part.rotation = rotation;
    }
    const store = ring.keyStore;
    if (store !== undefined) {
      const age = secondsBetween(store.lastSyncAt, now);
      const stale =
        store.lastSyncAt === undefined ||
        now - store.lastSyncAt > KEY_STORE_STALE_MS;
      const keyStore = {
        status: (store.consecutiveFailures > 0 || stale
          ? 'degraded'
          : 'up') as JwtIssuerHealthStatus,
        lastSyncAt: reportTime(store.lastSyncAt),
        lastSyncAgeSeconds: age,
        consecutiveFailures: store.consecutiveFailures,
        ...(store.lastError === undefined
          ? {}
          : { lastError: store.lastError }),
      };
      statuses.push(keyStore.status);
      part.keyStore = keyStore;
    }
  }
  part.trustedIssuers = verifier.remoteSources.map((source) => {
    const issuer = trustedIssuerHealth(source, now);
    statuses.push(issuer.status);
    return issuer;
  });
  return { status: worstStatus(statuses), ...part };
}

function trustedIssuerHealth(
  source: RemoteJwksKeySource,
  now: number,
): JwtIssuerHealthPart {
  // A probe starts the first fetch of an issuer no call has needed yet (as a verification would, cool-down kept).
  source.warm();
  const st = source.state();
  const failing = st.consecutiveFailures > 0;
  const status: JwtIssuerHealthStatus =
    st.keys === 0
      ? failing || st.lastSuccessAt !== undefined
        ? 'down' // no token of this issuer can be verified now
        : 'up' // not fetched yet: the first fetch is under way
      : failing || st.keys === st.keysInGracePeriod
        ? 'degraded' // fetches fail, or the JWKS lists no usable key: only withdrawn keys still verify
        : 'up';
  return {
    status,
    issuer: st.issuer,
    jwksUri: st.jwksUri,
    keys: st.keys,
    keysInGracePeriod: st.keysInGracePeriod,
    lastFetchAt: reportTime(st.lastSuccessAt),
    lastFetchAgeSeconds: secondsBetween(st.lastSuccessAt, now),
    consecutiveFailures: st.consecutiveFailures,
    nextRetryAt: failing ? reportTime(st.nextAttemptAt) : null,
    nextRetryInSeconds: failing ? secondsBetween(now, st.nextAttemptAt) : null,
    ...(st.lastError === undefined ? {} : { lastError: st.lastError }),
  };
}
