import type { CliIo } from './cli-support.js';

/**
 * Loads Nest's `Logger` (the library's services log their warnings through it) and sends its lines to stderr, so
 * that stdout holds the command's result only. Called only by commands that load those services: the others never
 * load Nest at all (startup time).
 */
export async function nestLoggerToStderr(io: CliIo): Promise<void> {
  const { Logger } = await import('@nestjs/common');
  const line =
    (level: string) =>
    (message: unknown, ...rest: unknown[]): void => {
      const context = rest.length > 0 ? rest[rest.length - 1] : undefined;
      io.err(
        `${level}${typeof context === 'string' ? ` [${context}]` : ''} ${String(message)}\n`,
      );
    };
  Logger.overrideLogger({
    log: line('log'),
    warn: line('warning'),
    error: line('error'),
    fatal: line('fatal'),
    debug: () => undefined,
    verbose: () => undefined,
  });
}
