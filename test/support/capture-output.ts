import { Logger, type LoggerService } from '@nestjs/common';

/**
 * Runs `fn` while recording everything written to stdout/stderr and through Nest's Logger, so a test can assert
 * that no secret was printed. `fn` gets the recording logger, to hand to `TestingModuleBuilder.setLogger` (the
 * testing module replaces the global logger when it compiles).
 */
export async function captureOutput<T>(
  fn: (logger: LoggerService) => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; output: string }> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const record =
    (write: typeof out) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = record(out) as typeof process.stdout.write;
  process.stderr.write = record(err) as typeof process.stderr.write;
  const logged = (...args: unknown[]) => {
    chunks.push(
      args
        .map((a) =>
          a instanceof Error ? `${a.message} ${a.stack}` : String(a),
        )
        .join(' '),
    );
  };
  const logger: LoggerService = {
    log: logged,
    error: logged,
    warn: logged,
    debug: logged,
    verbose: logged,
    fatal: logged,
  };
  Logger.overrideLogger(logger);
  try {
    const result = await fn(logger);
    return { result, error: undefined, output: chunks.join('\n') };
  } catch (error) {
    return { result: undefined, error, output: chunks.join('\n') };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    Logger.overrideLogger(true);
  }
}
