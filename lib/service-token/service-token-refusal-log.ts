import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { RateLimitedLog } from '../common/rate-limited-log.js';
import {
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
} from '../common/telemetry.js';

/**
 * The budget of refusal log lines shared by every {@link ServiceTokenGuard} of an application (the base guard, its
 * `ServiceTokenGuard.with(…)` classes and subclasses, in every module): `lines` detailed warnings per `window`
 * seconds (`service.refusalLogLines`, `service.refusalLogWindow`), then one summary warning per window counting the
 * refusals not logged by error code. Provided by the module; its timer is stopped, and a pending summary written,
 * when the application closes (internal).
 */
export class ServiceTokenRefusalLog
  extends RateLimitedLog
  implements OnApplicationShutdown
{
  constructor(lines = 10, windowSeconds = 60, telemetry?: JwtIssuerTelemetry) {
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

  /** Writes the pending summary and stops the timer. */
  onApplicationShutdown(): void {
    this.close();
  }
}
