import type { LoggerService } from '@nestjs/common';

/** What a section's normalizer may consult besides its raw options. */
export interface NormalizeContext {
  /** True when `NODE_ENV` is `production`: development defaults (generated keys) become errors. */
  production: boolean;
  /** Where loud development warnings go. */
  logger: LoggerService;
}
