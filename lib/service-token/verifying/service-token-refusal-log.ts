import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { RateLimitedLog } from '../../common/rate-limited-log.js';
import {
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
} from '../../common/telemetry.js';
import { JwtIssuerError, knownErrorCode } from '../../errors.js';
import { SERVICE_TOKEN_DEFAULTS } from '../interfaces/service-token-options.interface.js';

/**
 * The budget of refusal log lines shared by every {@link ServiceTokenGuard} of an application (the base guard, its
 * `ServiceTokenGuard.with(…)` classes and subclasses, in every module) and by {@link ServiceTokenHandshake}:
 * `lines` detailed warnings per `window` seconds (`service.refusalLogLines`, `service.refusalLogWindow`), then one
 * summary warning per window counting the refusals not logged by error code. Provided by the module; its timer is
 * stopped, and a pending summary written, when the application closes (internal).
 */
export class ServiceTokenRefusalLog
  extends RateLimitedLog
  implements OnApplicationShutdown
{
  constructor(
    lines = SERVICE_TOKEN_DEFAULTS.refusalLogLines,
    windowSeconds = SERVICE_TOKEN_DEFAULTS.refusalLogWindow,
    telemetry?: JwtIssuerTelemetry,
  ) {
    const logger = new Logger('ServiceTokenGuard');
    super((line) => logger.warn(line), {
      lines,
      windowMs: windowSeconds * 1000,
      subject: 'refused calls',
      suppressed: telemetry?.counter(
        JWT_ISSUER_INSTRUMENTS.refusalLogSuppressed,
      ),
    });
  }

  /**
   * Logs one refusal through `logger` as `Refused service token on <where>: <code>: <reason>` (printable ASCII, at
   * most 1,000 characters), or, past the window's budget, only counts its code for the summary. `where` and the
   * error's message must not contain the token.
   */
  refused(logger: Pick<Logger, 'warn'>, error: unknown, where: string): void {
    if (
      !this.admit(
        knownErrorCode(
          error instanceof JwtIssuerError ? error.code : undefined,
        ),
      )
    )
      return;
    const why =
      error instanceof JwtIssuerError
        ? `${error.code}: ${error.message}`
        : `unexpected ${(error as Error)?.name ?? 'error'}`;
    logger.warn(
      `Refused service token on ${where}: ${why}`
        .replace(/[^ -~]/g, '?')
        .slice(0, 1000),
    );
  }

  /** Writes the pending summary and stops the timer. */
  onApplicationShutdown(): void {
    this.close();
  }
}
