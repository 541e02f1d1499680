import { Inject, Injectable } from '@nestjs/common';
import {
  type JwtIssuerHealthPart,
  type JwtIssuerHealthStatus,
  worstStatus,
} from '../common/health.js';
import {
  type HealthReporter,
  JWT_ISSUER_HEALTH_REPORTERS,
} from '../config/capability-health.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';
import { exportOf } from '../common/module-export.js';

/** The package {@link JwtIssuerHealthIndicator.isHealthy} reports through (an optional peer dependency). */
export const TERMINUS_PACKAGE = '@nestjs/terminus';

/**
 * The module's health, one part per configured capability (`service`, `nats`, `seald`, `vonage`), each with its
 * own `status`; `status` is the worst of them. See the operations page for every part, its details and when it is
 * down.
 */
export interface JwtIssuerHealthReport {
  readonly status: JwtIssuerHealthStatus;
  readonly [section: string]: JwtIssuerHealthPart | JwtIssuerHealthStatus;
}

/**
 * A terminus indicator result: the report's details under the key, with the status. Typed to fit the
 * `HealthIndicatorResult` of terminus 11 (`up` | `down`) and 12; with terminus 12 the status may also be `degraded`.
 */
export type JwtIssuerHealthIndicatorResult = Record<
  string,
  { status: 'up' | 'down'; [detail: string]: unknown }
>;

// The parts of @nestjs/terminus used here (11 and 12): its types stay out of this package's declarations.
type TerminusResult = Record<string, Record<string, unknown>>;
interface TerminusSession {
  up(data: object): TerminusResult;
  down(data: object): TerminusResult;
  /** Terminus 12 only: still serving, impaired (the check stays 200). */
  degraded?(data: object): TerminusResult;
}
interface TerminusHealthIndicatorService {
  check(key: string): TerminusSession;
}
type TerminusHealthIndicatorServiceClass =
  new () => TerminusHealthIndicatorService;

let terminus: Promise<TerminusHealthIndicatorService> | undefined;

/** `@nestjs/terminus`' `HealthIndicatorService`, loaded on first use. */
function loadTerminus(): Promise<TerminusHealthIndicatorService> {
  return (terminus ??= import(TERMINUS_PACKAGE).then((m: unknown) => {
    const Service = exportOf<TerminusHealthIndicatorServiceClass>(
      m,
      'HealthIndicatorService',
    );
    if (Service === undefined) {
      throw new Error(`${TERMINUS_PACKAGE} has no HealthIndicatorService`);
    }
    return new Service();
  })).catch((cause: unknown) => {
    terminus = undefined;
    throw new JwtIssuerError(
      JwtIssuerErrorCode.NOT_CONFIGURED,
      `JwtIssuerHealthIndicator.isHealthy needs '${TERMINUS_PACKAGE}' 11 or 12 (an optional peer dependency): npm install ${TERMINUS_PACKAGE}`,
      { cause },
    );
  });
}

/**
 * A report as a terminus session's result: `down`, `degraded` where the session has it (terminus 12), else `up`.
 * @internal
 */
export function indicatorResult(
  session: TerminusSession,
  report: JwtIssuerHealthReport,
): TerminusResult {
  const { status, ...details } = report;
  if (status === 'down') return session.down(details);
  if (status === 'degraded' && typeof session.degraded === 'function') {
    return session.degraded(details);
  }
  return session.up(details);
}

/**
 * A `@nestjs/terminus` health indicator for every configured capability of the module: the service tokens (signing
 * key, rotation on schedule, shared key store), each trusted issuer (keys known, last JWKS fetch, failures, next
 * retry), NATS (signing key, account JWT expiry), Seald and Vonage. Provided by `JwtIssuerModule`; terminus is
 * loaded only when {@link isHealthy} is first called, and {@link report} works without it.
 *
 * The indicator is `down` only when the service cannot do its job now (a trusted issuer has no usable key and its
 * JWKS fails; this service cannot sign; the NATS account JWT has expired), never because a neighbour failed a
 * fetch while its keys are still valid: that is `degraded` (terminus 12 reports it and keeps HTTP 200; with
 * terminus 11, which has no such status, the indicator is `up` and the details say `degraded`). A check never
 * waits on the network.
 *
 * @example
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly jwt: JwtIssuerHealthIndicator) {}
 *   @Get() @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.jwt.isHealthy('jwt-issuer')]);
 *   }
 * }
 */
@Injectable()
export class JwtIssuerHealthIndicator {
  constructor(
    @Inject(JWT_ISSUER_HEALTH_REPORTERS)
    private readonly reporters: readonly HealthReporter[],
  ) {}

  /**
   * The health of every configured capability, now (no terminus needed). Also starts, in the background, the first
   * JWKS fetch of a trusted issuer no call has needed yet (as a verification would).
   */
  report(): JwtIssuerHealthReport {
    const parts: Record<string, JwtIssuerHealthPart> = {};
    for (const r of this.reporters) parts[r.section] = r.report();
    return {
      status: worstStatus(Object.values(parts).map((p) => p.status)),
      ...parts,
    };
  }

  /**
   * The report as a terminus indicator result under `key`: `up`, `degraded` (terminus 12; `up` with terminus 11)
   * or `down` (then `HealthCheckService.check` answers 503).
   *
   * The result type fits the indicator functions of terminus 11 and 12 alike; at run time its status is also
   * `degraded` with terminus 12.
   *
   * @example
   * this.health.check([() => this.jwt.isHealthy('jwt-issuer')]);
   * @throws {JwtIssuerError} `NOT_CONFIGURED` when `@nestjs/terminus` is not installed.
   */
  async isHealthy(key = 'jwt-issuer'): Promise<JwtIssuerHealthIndicatorResult> {
    return indicatorResult(
      (await loadTerminus()).check(key),
      this.report(),
    ) as JwtIssuerHealthIndicatorResult;
  }
}
