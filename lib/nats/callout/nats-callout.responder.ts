import {
  type BeforeApplicationShutdown,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { RateLimitedLog } from '../../common/rate-limited-log.js';
import {
  ATTR,
  counterIn,
  JWT_ISSUER_INSTRUMENTS,
  type JwtIssuerTelemetry,
} from '../../common/telemetry.js';
import type {
  CalloutMessage,
  CalloutResponderHost,
  CalloutSinks,
  NatsCalloutConnectionState,
} from '../interfaces/nats-callout-responder.interface.js';
import type { NatsCalloutStats } from '../interfaces/nats-callout.interface.js';
import { CalloutAuthorizerExplorer } from './callout-authorizer.explorer.js';
import { CalloutConnection } from './callout-connection.js';
import { CalloutProtocol } from './callout-protocol.js';
import { CalloutQueue, DeadlineSignals } from './callout-queue.js';
import { SERVER_XKEY_HEADER } from './callout-request.js';
import type { ResolvedNatsCalloutOptions } from './callout.options.js';

export {
  AUTH_CALLOUT_SUBJECT,
  NATS_CLIENT_PACKAGE,
} from './callout-connection.js';

/** The outcomes of {@link NatsCalloutStats} that are also an OpenTelemetry series, with their attribute value. */
const CALLOUT_OUTCOMES = {
  allowed: 'allowed',
  denied: 'denied',
  invalid: 'invalid',
  xkeyMismatch: 'xkey_mismatch',
  shed: 'shed',
  overloaded: 'overloaded',
} as const;

/** The responder's counters: the outcomes are the OpenTelemetry series themselves (read when a meter provider collects). */
function calloutCounters(
  telemetry: JwtIssuerTelemetry | undefined,
): NatsCalloutStats {
  const counters: Record<string, number> = { received: 0, inFlight: 0 };
  for (const [key, outcome] of Object.entries(CALLOUT_OUTCOMES)) {
    const series = counterIn(
      telemetry,
      JWT_ISSUER_INSTRUMENTS.calloutRequests,
      {
        [ATTR.outcome]: outcome,
      },
    );
    Object.defineProperty(counters, key, {
      enumerable: true,
      get: () => series.value,
      set: (v: number) => {
        series.value = v;
      },
    });
  }
  return counters as unknown as NatsCalloutStats;
}

/**
 * The NATS auth-callout responder (ADR-26), started and stopped with the application. It connects as a user that
 * bypasses the callout (reconnecting forever), answers `$SYS.REQ.USER.AUTH` in a queue group, validates every request
 * before anything else, asks the application's authorizer, and answers with a freshly signed user JWT or an error.
 * Requests past their deadline are shed unanswered (the server has given up), concurrency is bounded, and nothing
 * secret is ever logged.
 *
 * @example
 * // Read its counters (a health check, metrics):
 * const { received, allowed, denied, invalid } = app.get(NatsCalloutResponder).stats();
 */
export class NatsCalloutResponder
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger('NatsAuthCallout');
  private readonly counters: NatsCalloutStats;
  private readonly refusals = new RateLimitedLog((l) => this.logger.warn(l), {
    lines: 20,
    windowMs: 60_000,
    subject: 'dropped or denied auth requests',
  });
  private readonly sinks: CalloutSinks;
  private readonly explorer: CalloutAuthorizerExplorer;
  private readonly connection: CalloutConnection;
  private readonly queue: CalloutQueue<CalloutMessage>;
  private readonly deadlines = new DeadlineSignals();
  private protocol: CalloutProtocol | undefined;

  /** @internal Created by `JwtIssuerModule` from the validated `nats.callout` section. */
  constructor(
    readonly options: ResolvedNatsCalloutOptions,
    host: CalloutResponderHost = {},
  ) {
    this.counters = calloutCounters(host.telemetry);
    this.sinks = {
      counters: this.counters,
      logger: this.logger,
      refusals: this.refusals,
    };
    this.explorer = new CalloutAuthorizerExplorer(options, host);
    this.queue = new CalloutQueue(options, this.sinks, (msg, receivedAt) =>
      this.handle(msg, receivedAt),
    );
    this.connection = new CalloutConnection(options, this.logger, (msg) => {
      this.counters.received++;
      this.queue.push(msg, Date.now());
    });
  }

  /** Counters since start (a copy). */
  stats(): NatsCalloutStats {
    return { ...this.counters, inFlight: this.counters.inFlight };
  }

  /** The connection's state and since when (epoch ms), for the health report. */
  connectionState(): { state: NatsCalloutConnectionState; since: number } {
    return this.connection.current();
  }

  /** Resolves once the responder is subscribed (the first connection may take a while). */
  ready(): Promise<void> {
    return this.connection.ready();
  }

  /** @internal Finds the authorizer (at bootstrap; the benchmark calls it to use {@link answer} without NATS). */
  async prepare(): Promise<void> {
    this.protocol ??= new CalloutProtocol(
      this.options,
      await this.explorer.resolve(),
      this.sinks,
      (deadline) => this.deadlines.at(deadline),
    );
  }

  /** @internal Finds the authorizer, connects and subscribes (in the background: the app starts even if NATS is down). */
  async onApplicationBootstrap(): Promise<void> {
    await this.prepare();
    await this.connection.start();
  }

  /** @internal Stops taking requests, lets those in flight finish (bounded by their deadline) and drains. */
  async beforeApplicationShutdown(): Promise<void> {
    this.refusals.close();
    await this.connection.stop(() =>
      this.queue.settled(Date.now() + this.options.deadlineMs),
    );
  }

  /**
   * Validates, decides and signs one request: the bytes to reply, or `undefined` for no reply (invalid, past its
   * deadline). A decision made synchronously is answered synchronously (no promise turn between the request and its
   * reply); an asynchronous one gives a promise. @internal (the benchmark measures it in-process)
   */
  answer(
    payload: Uint8Array,
    headerXkey: string | undefined,
    receivedAt = Date.now(),
    hasReply = true,
  ): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    return this.protocol!.answer(payload, headerXkey, receivedAt, hasReply);
  }

  /** Answers one request taken from the queue (never throws). */
  private async handle(msg: CalloutMessage, receivedAt: number): Promise<void> {
    try {
      const reply = await this.answer(
        msg.data,
        msg.headers?.get(SERVER_XKEY_HEADER) || undefined,
        receivedAt,
        !!msg.reply,
      );
      if (reply) msg.respond(reply);
    } catch (e) {
      // A bug or a closed connection: never a crash, and never the request's content in the log.
      this.counters.invalid++;
      if (this.refusals.admit('internal')) {
        this.logger.error(
          `NATS auth callout: request not answered (${(e as Error)?.name ?? 'error'})`,
        );
      }
    }
  }
}
