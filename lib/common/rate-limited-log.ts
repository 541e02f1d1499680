/** Distinct keys counted in one window; any further key is counted under {@link OTHER}. */
const MAX_KEYS = 32;
const OTHER = 'other';
const count = new Intl.NumberFormat('en-US');

/**
 * Bounds the log lines an attacker can cause: at most `lines` detailed lines per window, the rest counted by key
 * (an error code, never text from the network) and written as one summary line when the window ends:
 * `1,990 more refused calls in the last 60 s not logged (ERR_…_SIGNATURE_INVALID 1,500, ERR_…_MALFORMED 490)`.
 *
 * A window opens at the first event after a quiet period and ends `windowMs` later on an unref'd timer (so the
 * summary is written even when the flood stops, and the timer never keeps the process alive); with no events no
 * timer runs. The state is a counter and at most 32 keys. {@link close} writes what is pending and stops the timer.
 *
 * @example
 * const log = new RateLimitedLog((line) => logger.warn(line), { lines: 10, windowMs: 60_000, subject: 'refused calls' });
 * if (log.admit(error.code)) logger.warn(`Refused …: ${error.message}`);
 */
export class RateLimitedLog {
  /** Detailed lines allowed per window. */
  readonly lines: number;
  /** Length of a window, in milliseconds. */
  readonly windowMs: number;
  private readonly subject: string;
  private detailed = 0;
  private readonly held = new Map<string, number>();
  private openedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly suppressed: { value: number } | undefined;

  constructor(
    private readonly write: (line: string) => void,
    options: {
      lines: number;
      windowMs: number;
      subject: string;
      /** Counts the events held back (for metrics). */
      suppressed?: { value: number };
    },
  ) {
    this.suppressed = options.suppressed;
    this.lines = options.lines;
    this.windowMs = options.windowMs;
    this.subject = options.subject;
  }

  /**
   * Counts one event: `true` when the caller should log it in detail now, `false` when it is held back and counted
   * under `key` for the window's summary. `key` must come from a small fixed set (e.g. error codes).
   */
  admit(key: string): boolean {
    if (this.timer === undefined) {
      this.openedAt = Date.now();
      this.timer = setTimeout(() => this.endWindow(), this.windowMs);
      this.timer.unref();
    }
    if (this.detailed < this.lines) {
      this.detailed++;
      return true;
    }
    if (this.suppressed !== undefined) this.suppressed.value++;
    const k = this.held.has(key) || this.held.size < MAX_KEYS ? key : OTHER;
    this.held.set(k, (this.held.get(k) ?? 0) + 1);
    return false;
  }

  /** Ends the current window now: writes its summary if events were held back, and stops the timer. */
  close(): void {
    if (this.timer !== undefined) this.endWindow();
  }

  private endWindow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.detailed = 0;
    if (this.held.size === 0) return;
    const byKey = [...this.held].toSorted((a, b) => b[1] - a[1]);
    this.held.clear();
    const total = byKey.reduce((sum, [, n]) => sum + n, 0);
    const seconds = Math.max(
      1,
      Math.round((Date.now() - this.openedAt) / 1000),
    );
    this.write(
      `${count.format(total)} more ${this.subject} in the last ${seconds} s not logged (${byKey
        .map(([key, n]) => `${key} ${count.format(n)}`)
        .join(', ')})`,
    );
  }
}
