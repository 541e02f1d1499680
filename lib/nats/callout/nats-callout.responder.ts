import { randomBytes } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Msg } from '@nats-io/transport-node';
import { LRUCache } from 'lru-cache';
import { isPlainObject } from '../../common/is-plain-object.js';
import { RateLimitedLog } from '../../common/rate-limited-log.js';
import { nowSeconds } from '../../common/time.js';
import {
  ATTR,
  counterIn,
  JWT_ISSUER_INSTRUMENTS,
} from '../../common/telemetry.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import type {
  CalloutDecide,
  CalloutResponderHost,
  CalloutSinks,
  NatsCalloutConnectionState,
} from '../interfaces/nats-callout-responder.interface.js';
import type {
  NatsAuthDecision,
  NatsAuthRequest,
  NatsCalloutStats,
} from '../interfaces/nats-callout.interface.js';
import { signUserJwt } from '../issue-user-jwt.js';
import { base32Encode } from '../nkey.js';
import { NkeyJwtSigner } from '../nkey-jwt.js';
import { CalloutAuthorizerExplorer } from './callout-authorizer.explorer.js';
import { CalloutConnection } from './callout-connection.js';
import { CalloutQueue, DeadlineSignals } from './callout-queue.js';
import {
  isRequestProblem,
  parseAuthRequest,
  SERVER_XKEY_HEADER,
} from './callout-request.js';
import type { ResolvedNatsCalloutOptions } from './callout.options.js';

export {
  AUTH_CALLOUT_SUBJECT,
  NATS_CLIENT_PACKAGE,
} from './callout-connection.js';

function isPromiseLike<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/** The outcomes of {@link NatsCalloutStats} that are also an OpenTelemetry series, with their attribute value. */
const CALLOUT_OUTCOMES = {
  allowed: 'allowed',
  denied: 'denied',
  invalid: 'invalid',
  xkeyMismatch: 'xkey_mismatch',
  shed: 'shed',
  overloaded: 'overloaded',
} as const;

const ACCOUNT_NAME = /^[A-Za-z0-9_$-][A-Za-z0-9_$.-]{0,127}$/;

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
  private readonly responseSigner: NkeyJwtSigner;
  private readonly seen: LRUCache<string, true>;
  private readonly refusals = new RateLimitedLog((l) => this.logger.warn(l), {
    lines: 20,
    windowMs: 60_000,
    subject: 'dropped or denied auth requests',
  });
  private readonly sinks: CalloutSinks;
  private readonly explorer: CalloutAuthorizerExplorer;
  private decide: CalloutDecide | undefined;
  private readonly connection: CalloutConnection;
  private readonly queue: CalloutQueue<Msg>;
  private xkeyWarned = false;
  // Response ids: a random prefix per process and a counter (unique without a random draw per response).
  private readonly jtiPrefix = base32Encode(randomBytes(15));
  private jtiCounter = 0;
  private readonly deadlines = new DeadlineSignals();

  /** @internal Created by `JwtIssuerModule` from the validated `nats.callout` section. */
  constructor(
    readonly options: ResolvedNatsCalloutOptions,
    host: CalloutResponderHost = {},
  ) {
    // The outcome counters are the OpenTelemetry series themselves (read when a meter provider collects).
    const counters: Record<string, number> = { received: 0, inFlight: 0 };
    for (const [key, outcome] of Object.entries(CALLOUT_OUTCOMES)) {
      const series = counterIn(
        host.telemetry,
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
    this.counters = counters as unknown as NatsCalloutStats;
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
    this.responseSigner = new NkeyJwtSigner(options.responseSigner);
    this.seen = new LRUCache({
      max: Math.max(1000, options.maxPending * 2),
      ttl: options.timeoutMs * 2,
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
    this.decide ??= await this.explorer.resolve();
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

  /** Answers one request taken from the queue (never throws). */
  private async handle(msg: Msg, receivedAt: number): Promise<void> {
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
    const o = this.options;
    const parsed = parseAuthRequest(payload, headerXkey, {
      xkey: o.xkey,
      subject: o.requestSubject,
      maxBytes: o.maxRequestBytes,
      now: nowSeconds(),
    });
    if (isRequestProblem(parsed)) {
      if (parsed.kind === 'xkey') {
        this.counters.xkeyMismatch++;
        if (!this.xkeyWarned || this.refusals.admit('xkey')) {
          this.xkeyWarned = true;
          this.logger.error(
            `NATS auth callout: xkey mismatch: ${parsed.reason}. Every client will time out until both sides agree.`,
          );
        }
      } else {
        this.counters.invalid++;
        if (this.refusals.admit(parsed.kind))
          this.logger.warn(
            `NATS auth callout: request dropped: ${parsed.reason}`,
          );
      }
      return undefined;
    }
    if (!hasReply) {
      this.counters.invalid++;
      if (this.refusals.admit('no-reply'))
        this.logger.warn(
          'NATS auth callout: request dropped: no reply subject',
        );
      return undefined;
    }
    const replayKey = `${parsed.server.id} ${parsed.requestId} ${parsed.userNkey}`;
    if (this.seen.has(replayKey)) {
      this.counters.invalid++;
      if (this.refusals.admit('replay'))
        this.logger.warn(
          'NATS auth callout: request dropped: replayed (seen before)',
        );
      return undefined;
    }
    this.seen.set(replayKey, true);
    const deadline = Math.min(
      receivedAt + o.deadlineMs,
      (parsed.expiresAt + 1) * 1000 - 100,
    );
    const signal = this.deadlines.at(deadline);
    let decided: NatsAuthDecision | PromiseLike<NatsAuthDecision>;
    try {
      decided = this.decide!(parsed, signal);
    } catch (e) {
      decided = this.failedDecision(e, parsed);
    }
    if (isPromiseLike(decided)) {
      return Promise.resolve(decided).then(
        (d) => this.reply(parsed, deadline, d),
        (e: unknown) =>
          this.reply(parsed, deadline, this.failedDecision(e, parsed)),
      );
    }
    return this.reply(parsed, deadline, decided);
  }

  /** The decision for an authorizer that threw or rejected: a deny, logged by the error's kind only. */
  private failedDecision(
    e: unknown,
    parsed: NatsAuthRequest,
  ): NatsAuthDecision {
    // The message may hold anything the application put in it: only its kind is logged.
    if (this.refusals.admit('authorizer-error')) {
      this.logger.error(
        `NATS auth callout: the authorizer threw ${(e as Error)?.name ?? typeof e} for client ${this.who(parsed)}; denied`,
      );
    }
    return { allow: false, reason: 'not authorized' };
  }

  /** Signs the reply to a decided request: the bytes, or `undefined` past the deadline (the server gave up). */
  private reply(
    parsed: NatsAuthRequest,
    deadline: number,
    decision: NatsAuthDecision,
  ): Uint8Array | undefined {
    const o = this.options;
    if (Date.now() > deadline) {
      this.counters.shed++;
      if (this.refusals.admit('deadline')) {
        this.logger.warn(
          `NATS auth callout: decision for client ${this.who(parsed)} came after the deadline; no reply`,
        );
      }
      return undefined;
    }
    let jwt: string | undefined;
    let error: string | undefined;
    if (!isPlainObject(decision) || typeof decision.allow !== 'boolean') {
      error = 'not authorized';
      if (this.refusals.admit('bad-decision'))
        this.logger.error(
          'NATS auth callout: the authorizer returned no decision ({ allow: … }); denied',
        );
    } else if (decision.allow) {
      try {
        jwt = this.userJwt(decision, parsed);
      } catch (e) {
        error =
          e instanceof JwtIssuerError
            ? `the decision cannot be signed: ${e.message}`
            : 'not authorized';
      }
    } else {
      error =
        typeof decision.reason === 'string' && decision.reason !== ''
          ? decision.reason.slice(0, 512)
          : 'not authorized';
    }
    if (jwt) {
      this.counters.allowed++;
      // Allowed clients are counted, not logged: one line per connection would cost more than the signing.
    } else {
      this.counters.denied++;
      if (this.refusals.admit('denied'))
        this.logger.warn(
          `NATS auth callout: client ${this.who(parsed)} denied: ${error}`,
        );
    }
    const bytes = this.response(parsed, jwt, error);
    return o.xkey && parsed.encrypted
      ? o.xkey.seal(bytes, parsed.server.xkey!)
      : bytes;
  }

  /** Client id, host and name (never the user field: it holds the raw token with token auth). */
  private who(r: NatsAuthRequest): string {
    const name = r.client.name ?? r.connectOptions.name;
    return `${r.client.id ?? '?'} (${r.client.host ?? '?'}${name ? `, ${JSON.stringify(name.slice(0, 64))}` : ''}) on ${r.server.name}`;
  }

  private userJwt(
    decision: NatsAuthDecision & { allow: true },
    request: NatsAuthRequest,
  ): string {
    const o = this.options;
    const expiresIn = Math.min(
      decision.expiresIn === undefined ||
        !Number.isSafeInteger(decision.expiresIn) ||
        decision.expiresIn < 1
        ? o.maxExpiresIn
        : decision.expiresIn,
      o.maxExpiresIn,
      // A user JWT never outlives what the request allows: at most maxExpiresIn.
    );
    const claims = {
      name: decision.name,
      tags: decision.tags,
      permissions: decision.permissions,
      limits: decision.limits,
      expiresIn,
    };
    const account = decision.account ?? o.defaultAccount;
    if (o.mode === 'config') {
      if (typeof account !== 'string' || !ACCOUNT_NAME.test(account)) {
        throw new JwtIssuerError(
          JwtIssuerErrorCode.INVALID_ARGUMENT,
          'account: must be an account name (APP)',
        );
      }
      return signUserJwt(
        o.issuer!,
        undefined,
        request.userNkey,
        claims,
        'unscoped',
        undefined,
        account,
      );
    }
    const signer = o.accounts.get(account);
    if (!signer) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        `account: no signing key configured for ${String(account).slice(0, 60)}`,
      );
    }
    return signUserJwt(
      signer.signer,
      signer.accountJson,
      request.userNkey,
      claims,
      signer.scope,
    );
  }

  private response(
    request: NatsAuthRequest,
    jwt: string | undefined,
    error: string | undefined,
  ): Buffer {
    const iat = nowSeconds();
    // A user JWT is base64url and dots: its JSON string needs no escaping.
    const nats =
      jwt !== undefined
        ? `{"jwt":"${jwt}","type":"authorization_response","version":2}`
        : `{"error":${JSON.stringify(error)},"type":"authorization_response","version":2}`;
    return this.responseSigner.signJsonToBytes(
      `{"aud":${JSON.stringify(request.server.id)},"exp":${Math.max(request.expiresAt, iat + 1)},"iat":${iat},"iss":"${this.options.responseSigner.publicKey}","jti":"${this.jtiPrefix}${(this.jtiCounter++).toString(36).toUpperCase()}","nats":${nats},"sub":"${request.userNkey}"}`,
    );
  }
}
