import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  type ResolvedSections,
  resolvedSection,
} from '../../config/capability.interface.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from '../../config/resolved-options.token.js';
import {
  type ResolvedServiceTokenSection,
  SERVICE_TOKEN_DEFAULTS,
  type ServiceTokenClaims,
} from '../interfaces/service-token-options.interface.js';
import {
  type ServiceTokenCall,
  ServiceTokenLocator,
} from './service-token.locator.js';
import { ServiceTokenRefusalLog } from './service-token-refusal-log.js';
import { ServiceTokenVerifier } from './service-token.verifier.js';
import {
  bindSocket,
  closeSocket,
  socketClaimsOf,
} from './transports/websocket.js';

/** What {@link ServiceTokenHandshake} reads of a WebSocket handshake. */
export interface ServiceTokenHandshakeRequest {
  /** The adapter the gateway runs on: `@nestjs/platform-ws` or `@nestjs/platform-socket.io`. */
  readonly adapter: 'ws' | 'socket.io';
  /** The HTTP headers of the upgrade request (socket.io: of the handshake's first request). */
  readonly headers: IncomingHttpHeaders;
  /** socket.io: the client's `auth` payload (`io(url, { auth: { token } })`), as the client sent it; `ws`: undefined. */
  readonly auth: unknown;
  /** Where the client connected, for the log: the path (`ws`, without the query string) or the namespace (socket.io). */
  readonly path: string;
}

/** The socket.io error a refused handshake gets: the client's `connect_error`, with the same body as over HTTP. */
interface HandshakeRefusal extends Error {
  data: { statusCode: 401; message: 'Unauthorized' };
}

/** The parts of a `ws` WebSocketServer used here (`ws` is not a dependency of this package). */
type UpgradeDone = (socket: WsSocketLike, request?: WsRequestLike) => void;
interface WsServerLike {
  handleUpgrade(
    request: WsRequestLike,
    socket: unknown,
    head: unknown,
    done: UpgradeDone,
  ): void;
  on: unknown;
}
interface WsSocketLike {
  readonly readyState: number;
  pause(): void;
  resume(): void;
  on(event: 'error', listener: () => void): unknown;
}
interface WsRequestLike {
  headers?: IncomingHttpHeaders;
  url?: string;
}

/** The parts of a socket.io Server or Namespace used here. */
interface IoServerLike {
  sockets: unknown;
  use(
    middleware: (socket: IoSocketLike, next: (err?: Error) => void) => void,
  ): unknown;
}
interface IoSocketLike {
  handshake?: { headers?: IncomingHttpHeaders; auth?: unknown };
  nsp?: { name?: string };
}

/**
 * Verifies the service token of a WebSocket client once, at its handshake, for a gateway whose handlers are guarded
 * by {@link ServiceTokenGuard}: call {@link protect} with the gateway's server in `afterInit`. Nest runs guards per
 * message, never at the connection, so the handshake needs this hook; the guard then refuses every message of a
 * socket that was not admitted here, and every message after the socket's token expired.
 *
 * The token: the `Authorization: Bearer …` header of the upgrade request, or for socket.io the `auth.token` of the
 * client (`io(url, { auth: { token } })`, the bare token or `Bearer …`; it wins over the header). A query parameter
 * is never read: URLs end up in access logs. A refused client gets what its adapter's clients expect:
 * - socket.io: `connect_error` with `message: 'Unauthorized'` and `data: { statusCode: 401, message: 'Unauthorized' }`
 *   (the middleware refuses it before Nest sees the socket: `handleConnection` does not run);
 * - `ws`: the upgraded connection is closed with code 4401 and reason `Unauthorized` (a browser's WebSocket cannot
 *   read the status of a refused upgrade, every client reads a close code), before the server emits `connection`:
 *   Nest never sees the socket, `handleConnection` does not run.
 *
 * Either way a verification that must fetch a JWKS first holds the socket until it settles (socket.io's middleware
 * waits; a `ws` socket is paused), so no message reaches the gateway before its token is verified.
 *
 * The reason is logged through the application's refusal log budget (shared with the guards), never the token.
 * Subclass to change `extractToken` or `verify`, and provide the subclass instead.
 *
 * @example
 * @UseGuards(ServiceTokenGuard)
 * @WebSocketGateway({ path: '/events' })
 * export class EventsGateway implements OnGatewayInit {
 *   constructor(private readonly handshake: ServiceTokenHandshake) {}
 *   afterInit(server: unknown) {
 *     this.handshake.protect(server);
 *   }
 *   @SubscribeMessage('whoami')
 *   whoami(@ServiceClaims('caller') caller: ServiceCaller) { return caller; }
 * }
 */
@Injectable()
export class ServiceTokenHandshake {
  protected readonly logger = new Logger('ServiceTokenHandshake');
  /** The application's refusal log budget, set by Nest; one with the defaults when built with `new`. */
  @Optional()
  @Inject(ServiceTokenRefusalLog)
  private refusalLog: ServiceTokenRefusalLog | undefined;
  /** Where tokens come from, set by Nest; the default {@link ServiceTokenLocator} when built with `new`. */
  @Optional()
  @Inject(ServiceTokenLocator)
  private locator: ServiceTokenLocator | undefined;
  /** The module's options, set by Nest, for the clock tolerance. */
  @Optional()
  @Inject(JWT_ISSUER_RESOLVED_OPTIONS)
  private readonly resolved: ResolvedSections | undefined;

  private readonly protectedServers = new WeakSet<object>();

  constructor(protected readonly verifier: ServiceTokenVerifier) {}

  /**
   * Verifies every client of `server` at its handshake: `server` is what Nest passes to the gateway's `afterInit`
   * (a `ws` WebSocketServer, a socket.io Server, or a socket.io Namespace for a gateway with a `namespace`).
   * Protecting the same server twice (two gateways on one path) does nothing more.
   *
   * @throws {JwtIssuerError} `INVALID_ARGUMENT` when `server` is none of these; `NOT_CONFIGURED` when the module has
   * no `service` section (nothing to verify with).
   */
  protect(server: unknown): void {
    void this.verifier.cachedTokens; // NOT_CONFIGURED now, at startup, rather than at the first client
    if (typeof server !== 'object' || server === null) {
      throw notAServer(server);
    }
    if (this.protectedServers.has(server)) return;
    if (isIoServer(server)) {
      server.use((socket, next) => this.admitIo(socket, next));
    } else if (isWsServer(server)) {
      // Every connection of a ws server passes through its handleUpgrade (its own port's upgrade listener, or
      // WsAdapter's on the app's HTTP server), whose callback emits `connection`: Nest's listener, which binds the
      // handlers, runs only for the sockets admitted here.
      const upgrade = server.handleUpgrade.bind(server);
      server.handleUpgrade = (request, socket, head, done) =>
        upgrade(request, socket, head, (ws, req) =>
          this.admitWs(ws, req ?? request, done),
        );
    } else {
      throw notAServer(server);
    }
    this.protectedServers.add(server);
  }

  /**
   * The claims verified at `socket`'s handshake while its token has not expired, else `undefined` (refused, still
   * being verified, expired, or not from a protected server). For `handleConnection`; in message handlers use
   * {@link ServiceClaims}.
   */
  claimsOf(socket: object): ServiceTokenClaims | undefined {
    return socketClaimsOf(socket, Date.now());
  }

  /**
   * The token of the handshake, or `undefined`: what the {@link ServiceTokenLocator} finds (by default socket.io's
   * `auth.token` when the client sent one, the bare token or `Bearer …`, else the `Authorization: Bearer …`
   * header). Never a query parameter.
   */
  protected extractToken(
    handshake: ServiceTokenHandshakeRequest,
  ): string | undefined {
    return this.tokenLocator().locate(callOf(handshake));
  }

  /** Verifies the handshake's token (synchronously when the issuer's key is known). */
  protected verify(
    token: string,
    handshake: ServiceTokenHandshakeRequest,
  ): ServiceTokenClaims | Promise<ServiceTokenClaims> {
    void handshake;
    return this.verifier.verifyFast(token);
  }

  private admitWs(
    socket: WsSocketLike,
    request: WsRequestLike,
    done: UpgradeDone,
  ) {
    // Until Nest has the socket (and for good when it is refused), nobody listens for its errors: a bad frame would
    // throw. Nest's adapter adds its own listener, which logs them.
    socket.on('error', () => undefined);
    const admitted = this.admit(socket, {
      adapter: 'ws',
      headers: request.headers ?? {},
      auth: undefined,
      path: (request.url ?? '').split('?')[0],
    });
    if (admitted === true) done(socket, request);
    else if (admitted === false) closeSocket(socket);
    else {
      socket.pause();
      void admitted.then((ok) => {
        // A client gone while its token was verified is not handed to Nest (its close event has passed).
        if (ok && socket.readyState === WS_OPEN) done(socket, request);
        else if (!ok) closeSocket(socket);
        // Refused: resumed too, so that the close handshake completes (nothing listens for its messages).
        socket.resume();
      });
    }
  }

  private admitIo(socket: IoSocketLike, next: (err?: Error) => void) {
    const admitted = this.admit(socket, {
      adapter: 'socket.io',
      headers: socket.handshake?.headers ?? {},
      auth: socket.handshake?.auth,
      path: socket.nsp?.name ?? '/',
    });
    if (admitted === true) next();
    else if (admitted === false) next(ioRefusal());
    else void admitted.then((ok) => next(ok ? undefined : ioRefusal()));
  }

  /** Verifies the handshake and binds the outcome to the socket: true, false (refused and logged), or later. */
  private admit(
    socket: object,
    handshake: ServiceTokenHandshakeRequest,
  ): boolean | Promise<boolean> {
    let claims: ServiceTokenClaims | Promise<ServiceTokenClaims>;
    let token: string | undefined;
    try {
      token = this.extractToken(handshake);
      if (token === undefined) {
        throw this.tokenLocator().missing(callOf(handshake));
      }
      claims = this.verify(token, handshake);
    } catch (e) {
      bindSocket(socket, { refused: e }, 0);
      this.report(e, handshake);
      return false;
    }
    const verified = token;
    bindSocket(socket, { claims }, this.toleranceMs(), (c) =>
      this.verifier.signingKeyOf(verified, c),
    );
    if (!(claims instanceof Promise)) return true;
    return claims.then(
      () => true,
      (e: unknown) => {
        this.report(e, handshake);
        return false;
      },
    );
  }

  private report(error: unknown, handshake: ServiceTokenHandshakeRequest) {
    this.refusalLog ??= new ServiceTokenRefusalLog();
    this.refusalLog.refused(
      this.logger,
      error,
      `${handshake.adapter} handshake ${handshake.path}`,
    );
  }

  private tokenLocator(): ServiceTokenLocator {
    return (this.locator ??= new ServiceTokenLocator());
  }

  private toleranceMs(): number {
    const section = resolvedSection<ResolvedServiceTokenSection>(
      this.resolved ?? {},
      'service',
    );
    return (
      (section?.clockTolerance ?? SERVICE_TOKEN_DEFAULTS.clockTolerance) * 1000
    );
  }
}

/** `WebSocket.OPEN`. */
const WS_OPEN = 1;

/** The handshake as the locator reads it. */
function callOf(handshake: ServiceTokenHandshakeRequest): ServiceTokenCall {
  return {
    type: 'ws',
    headers: handshake.headers,
    handshake: { adapter: handshake.adapter, auth: handshake.auth },
  };
}

function ioRefusal(): HandshakeRefusal {
  return Object.assign(new Error('Unauthorized'), {
    data: { statusCode: 401 as const, message: 'Unauthorized' as const },
  });
}

function isIoServer(server: object): server is IoServerLike {
  const s = server as Partial<IoServerLike>;
  return typeof s.use === 'function' && typeof s.sockets === 'object';
}

function isWsServer(server: object): server is WsServerLike {
  const s = server as Partial<WsServerLike>;
  return typeof s.handleUpgrade === 'function' && typeof s.on === 'function';
}

function notAServer(server: unknown): JwtIssuerError {
  const what =
    typeof server === 'object' && server !== null
      ? (server.constructor?.name ?? 'object')
      : typeof server;
  return new JwtIssuerError(
    JwtIssuerErrorCode.INVALID_ARGUMENT,
    `ServiceTokenHandshake.protect: expected the server Nest passes to afterInit (a ws WebSocketServer, a socket.io Server or Namespace), got ${what}`,
  );
}
