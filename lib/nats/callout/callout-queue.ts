import type { CalloutSinks } from '../interfaces/nats-callout-responder.interface.js';

/** The queue's bounds, from the resolved `nats.callout` section. */
export interface CalloutQueueLimits {
  /** Requests handled at once. */
  maxConcurrency: number;
  /** Requests waiting their turn; past it the newcomer is dropped. */
  maxPending: number;
  /** A request waiting this long (ms since received) is shed: the server has given up on it. */
  deadlineMs: number;
}

interface Waiting<T> {
  item: T;
  receivedAt: number;
}

/**
 * The responder's back-pressure: at most `maxConcurrency` requests handled at once, up to `maxPending` waiting,
 * requests past their deadline shed unhandled. `handle` must never reject. Counts `inFlight`, `shed` and
 * `overloaded` in `sinks.counters`.
 *
 * @example
 * const queue = new CalloutQueue(options, sinks, (msg, receivedAt) => this.handle(msg, receivedAt));
 * queue.push(msg, Date.now());
 */
export class CalloutQueue<T> {
  private readonly waiting: Waiting<T>[] = [];

  constructor(
    private readonly limits: CalloutQueueLimits,
    private readonly sinks: CalloutSinks,
    private readonly handle: (item: T, receivedAt: number) => Promise<void>,
  ) {}

  /** Takes a request received at `now` (epoch ms), or drops it when the queue is full of live requests. */
  push(item: T, now: number): void {
    if (this.waiting.length >= this.limits.maxPending) {
      // Shed what is already past its deadline first; only then refuse the newcomer.
      this.shedExpired(now);
      if (this.waiting.length >= this.limits.maxPending) {
        this.sinks.counters.overloaded++;
        if (this.sinks.refusals.admit('overloaded')) {
          this.sinks.logger.warn(
            `NATS auth callout: ${this.waiting.length} requests waiting; request dropped`,
          );
        }
        return;
      }
    }
    this.waiting.push({ item, receivedAt: now });
    this.pump();
  }

  /** Resolves once nothing waits and nothing is in flight, or at `until` (epoch ms), whichever comes first. */
  async settled(until: number): Promise<void> {
    while (
      (this.sinks.counters.inFlight > 0 || this.waiting.length > 0) &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private shedExpired(now: number): void {
    const before = this.waiting.length;
    const kept = this.waiting.filter(
      (p) => now - p.receivedAt < this.limits.deadlineMs,
    );
    this.waiting.length = 0;
    this.waiting.push(...kept);
    this.sinks.counters.shed += before - kept.length;
  }

  private pump(): void {
    const { counters } = this.sinks;
    while (
      counters.inFlight < this.limits.maxConcurrency &&
      this.waiting.length > 0
    ) {
      const next = this.waiting.shift()!;
      if (Date.now() - next.receivedAt >= this.limits.deadlineMs) {
        counters.shed++;
        continue;
      }
      counters.inFlight++;
      void this.handle(next.item, next.receivedAt).finally(() => {
        counters.inFlight--;
        this.pump();
      });
    }
  }
}

/**
 * Abort signals for deadlines: a signal aborts at its deadline or up to 20 ms after it. Requests whose deadlines fall
 * in the same 20 ms share one controller and one timer (a burst does not pay for an AbortController and a timer
 * each); whoever needs the exact deadline checks it again.
 */
export class DeadlineSignals {
  private readonly slots = new Map<number, AbortController>();

  /** The signal for a deadline in epoch ms. */
  at(deadline: number): AbortSignal {
    const slot = Math.ceil(deadline / 20) * 20;
    let controller = this.slots.get(slot);
    if (!controller) {
      const c = new AbortController();
      controller = c;
      this.slots.set(slot, c);
      setTimeout(
        () => {
          this.slots.delete(slot);
          c.abort();
        },
        Math.max(0, slot - Date.now()),
      ).unref();
    }
    return controller.signal;
  }
}
