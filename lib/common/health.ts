/**
 * The state of one part of the module in the health report: `up` (doing its job), `degraded` (doing its job on
 * what it already has, e.g. keys fetched earlier, while something it depends on fails) or `down` (it cannot do its
 * job now).
 */
export type JwtIssuerHealthStatus = 'up' | 'degraded' | 'down';

/** One part of the report: its status and details (never a secret, a token, or a URL's userinfo or query). */
export interface JwtIssuerHealthPart {
  readonly status: JwtIssuerHealthStatus;
  readonly [detail: string]: unknown;
}

const RANK: Record<JwtIssuerHealthStatus, number> = {
  up: 0,
  degraded: 1,
  down: 2,
};

/** The worst of some statuses (`up` for none). */
export function worstStatus(
  statuses: Iterable<JwtIssuerHealthStatus>,
): JwtIssuerHealthStatus {
  let worst: JwtIssuerHealthStatus = 'up';
  for (const s of statuses) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}

/** An instant of the report: ISO 8601, or `null` when it never happened. */
export function reportTime(ms: number | undefined): string | null {
  return ms === undefined || !Number.isFinite(ms)
    ? null
    : new Date(ms).toISOString();
}

/** Seconds from `ms` to `now` (or from `now` to `ms`, for a future instant), one decimal; `null` without `ms`. */
export function secondsBetween(
  from: number | undefined,
  to: number | undefined,
): number | null {
  if (from === undefined || to === undefined) return null;
  if (!Number.isFinite(from) || !Number.isFinite(to)) return null;
  return Math.max(0, Math.round((to - from) / 100) / 10);
}
