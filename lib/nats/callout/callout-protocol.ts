import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { isPlainObject } from '../../common/is-plain-object.js';
import { nowSeconds } from '../../common/time.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import type {
  CalloutDecide,
  CalloutSinks,
} from '../interfaces/nats-callout-responder.interface.js';
import type {
  NatsAuthDecision,
  NatsAuthRequest,
} from '../interfaces/nats-callout.interface.js';
import { signUserJwt } from '../issue-user-jwt.js';
import { base32Encode } from '../nkey.js';
import { NkeyJwtSigner } from '../nkey-jwt.js';
import { isRequestProblem, parseAuthRequest } from './callout-request.js';
import type { ResolvedNatsCalloutOptions } from './callout.options.js';

const ACCOUNT_NAME = /^[A-Za-z0-9_$-][A-Za-z0-9_$.-]{0,127}$/;

function isPromiseLike<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/**
 * The auth callout's protocol (ADR-26), without a server: one request's bytes in, the bytes of its reply out (or
 * `undefined`: no reply). It validates the request, drops a replayed one, asks `decide`, and signs the
 * `authorization_response` (sealed with the xkey when the request was), counting every outcome in `sinks`.
 *
 * @example
 * const protocol = new CalloutProtocol(options, decide, sinks, (deadline) => signals.at(deadline));
 * const reply = await protocol.answer(msg.data, msg.headers?.get(SERVER_XKEY_HEADER), receivedAt);
 * if (reply) msg.respond(reply);
 */
export class CalloutProtocol {
  private readonly responseSigner: NkeyJwtSigner;
  /** Requests answered lately (server id, request id, user nkey), for as long as the server could resend them. */
  private readonly seen: LRUCache<string, true>;
  private xkeyWarned = false;
  // Response ids: a random prefix per process and a counter (unique without a random draw per response).
  private readonly jtiPrefix = base32Encode(randomBytes(15));
  private jtiCounter = 0;

  /**
   * @param deadlineSignal A signal that aborts at (or shortly after) a deadline, in epoch ms: given to `decide`.
   */
  constructor(
    private readonly options: ResolvedNatsCalloutOptions,
    private readonly decide: CalloutDecide,
    private readonly sinks: CalloutSinks,
    private readonly deadlineSignal: (deadline: number) => AbortSignal,
  ) {
    this.responseSigner = new NkeyJwtSigner(options.responseSigner);
    this.seen = new LRUCache({
      max: Math.max(1000, options.maxPending * 2),
      ttl: options.timeoutMs * 2,
    });
  }

  /**
   * Validates, decides and signs one request: the bytes to reply, or `undefined` for no reply (invalid, replayed,
   * past its deadline). A decision made synchronously is answered synchronously (no promise turn between the
   * request and its reply); an asynchronous one gives a promise.
   */
  answer(
    payload: Uint8Array,
    headerXkey: string | undefined,
    receivedAt = Date.now(),
    hasReply = true,
  ): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    const request = this.accept(payload, headerXkey, hasReply);
    if (!request) return undefined;
    const deadline = Math.min(
      receivedAt + this.options.deadlineMs,
      (request.expiresAt + 1) * 1000 - 100,
    );
    const signal = this.deadlineSignal(deadline);
    let decided: NatsAuthDecision | PromiseLike<NatsAuthDecision>;
    try {
      decided = this.decide(request, signal);
    } catch (e) {
      decided = this.failedDecision(e, request);
    }
    if (isPromiseLike(decided)) {
      return Promise.resolve(decided).then(
        (d) => this.reply(request, deadline, d),
        (e: unknown) =>
          this.reply(request, deadline, this.failedDecision(e, request)),
      );
    }
    return this.reply(request, deadline, decided);
  }

  /** The request to decide, or `undefined` when it is dropped: invalid, without a reply subject, or replayed. */
  private accept(
    payload: Uint8Array,
    headerXkey: string | undefined,
    hasReply: boolean,
  ): NatsAuthRequest | undefined {
    const { counters, logger, refusals } = this.sinks;
    const o = this.options;
    const parsed = parseAuthRequest(payload, headerXkey, {
      xkey: o.xkey,
      subject: o.requestSubject,
      maxBytes: o.maxRequestBytes,
      now: nowSeconds(),
    });
    if (isRequestProblem(parsed)) {
      if (parsed.kind === 'xkey') {
        counters.xkeyMismatch++;
        if (!this.xkeyWarned || refusals.admit('xkey')) {
          this.xkeyWarned = true;
          logger.error(
            `NATS auth callout: xkey mismatch: ${parsed.reason}. Every client will time out until both sides agree.`,
          );
        }
      } else {
        counters.invalid++;
        if (refusals.admit(parsed.kind))
          logger.warn(`NATS auth callout: request dropped: ${parsed.reason}`);
      }
      return undefined;
    }
    if (!hasReply) {
      counters.invalid++;
      if (refusals.admit('no-reply'))
        logger.warn('NATS auth callout: request dropped: no reply subject');
      return undefined;
    }
    const replayKey = `${parsed.server.id} ${parsed.requestId} ${parsed.userNkey}`;
    if (this.seen.has(replayKey)) {
      counters.invalid++;
      if (refusals.admit('replay'))
        logger.warn(
          'NATS auth callout: request dropped: replayed (seen before)',
        );
      return undefined;
    }
    this.seen.set(replayKey, true);
    return parsed;
  }

  /** The decision for an authorizer that threw or rejected: a deny, logged by the error's kind only. */
  private failedDecision(
    e: unknown,
    request: NatsAuthRequest,
  ): NatsAuthDecision {
    // The message may hold anything the application put in it: only its kind is logged.
    if (this.sinks.refusals.admit('authorizer-error')) {
      this.sinks.logger.error(
        `NATS auth callout: the authorizer threw ${(e as Error)?.name ?? typeof e} for client ${who(request)}; denied`,
      );
    }
    return { allow: false, reason: 'not authorized' };
  }

  /** Signs the reply to a decided request: the bytes, or `undefined` past the deadline (the server gave up). */
  private reply(
    request: NatsAuthRequest,
    deadline: number,
    decision: NatsAuthDecision,
  ): Uint8Array | undefined {
    const { counters, logger, refusals } = this.sinks;
    if (Date.now() > deadline) {
      counters.shed++;
      if (refusals.admit('deadline')) {
        logger.warn(
          `NATS auth callout: decision for client ${who(request)} came after the deadline; no reply`,
        );
      }
      return undefined;
    }
    const { jwt, error } = this.outcome(request, decision);
    if (jwt) {
      counters.allowed++;
      // Allowed clients are counted, not logged: one line per connection would cost more than the signing.
    } else {
      counters.denied++;
      if (refusals.admit('denied'))
        logger.warn(
          `NATS auth callout: client ${who(request)} denied: ${error}`,
        );
    }
    const bytes = this.response(request, jwt, error);
    const { xkey } = this.options;
    return xkey && request.encrypted
      ? xkey.seal(bytes, request.server.xkey!)
      : bytes;
  }

  /** What the response carries: the user JWT of an allow, or the error of a deny (or of a decision that is none). */
  private outcome(
    request: NatsAuthRequest,
    decision: NatsAuthDecision,
  ): { jwt?: string; error?: string } {
    if (!isPlainObject(decision) || typeof decision.allow !== 'boolean') {
      if (this.sinks.refusals.admit('bad-decision'))
        this.sinks.logger.error(
          'NATS auth callout: the authorizer returned no decision ({ allow: … }); denied',
        );
      return { error: 'not authorized' };
    }
    if (decision.allow) {
      try {
        return { jwt: this.userJwt(decision, request) };
      } catch (e) {
        return {
          error:
            e instanceof JwtIssuerError
              ? `the decision cannot be signed: ${e.message}`
              : 'not authorized',
        };
      }
    }
    return {
      error:
        typeof decision.reason === 'string' && decision.reason !== ''
          ? decision.reason.slice(0, 512)
          : 'not authorized',
    };
  }

  /** The user JWT of an allow, for the request's user nkey, signed for the decided (or default) account. */
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

  /** The signed `authorization_response` for the request's user nkey: the user JWT, or the error. */
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

/** Client id, host and name (never the user field: it holds the raw token with token auth). */
function who(r: NatsAuthRequest): string {
  const name = r.client.name ?? r.connectOptions.name;
  return `${r.client.id ?? '?'} (${r.client.host ?? '?'}${name ? `, ${JSON.stringify(name.slice(0, 64))}` : ''}) on ${r.server.name}`;
}
