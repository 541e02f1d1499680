import { exportOf } from '../../../common/module-export.js';
import type { TokenRefusal } from '../../../common/token-refusal.js';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../../errors.js';
import type { ServiceTokenClaims } from '../../interfaces/service-token-options.interface.js';
import type { ServiceTokenRequest } from './service-call.js';

// A WebSocket's token is verified once, at its handshake (ServiceTokenHandshake), and the outcome is kept on the
// socket object (a `ws` WebSocket or a socket.io Socket) under a symbol: the guard reads it on every message instead
// of verifying again, and the param decorator finds the claims there. No serializer sees a symbol property.
const SOCKET = Symbol('nest-jwt-issuer.socketToken');

/** The outcome of a socket's handshake, as the guard reads it per message. */
interface SocketBinding {
  /** The request object of the socket's calls (`@ServiceClaims` reads it); no headers: the token is not kept. */
  readonly request: ServiceTokenRequest;
  /** The verified claims, once verification succeeded. */
  claims?: ServiceTokenClaims;
  /** Until verification settles. */
  pending?: Promise<ServiceTokenClaims>;
  /** Why the handshake was refused. */
  refused?: unknown;
  /** When the claims stop being accepted (ms): `exp` plus the clock tolerance, as the verifier counts it. */
  expiresAtMs: number;
  /** The key that signed the token, when known: the claims stop being accepted once it is withdrawn. */
  key?: { readonly active: boolean };
}

type Carrier = { [SOCKET]?: SocketBinding };

/**
 * Binds the outcome of a handshake to its socket: claims, a pending verification (the binding follows it), or the
 * refusal. `toleranceMs` is the verifier's clock tolerance and `keyOf` finds the key that signed the token, so that
 * a socket's token stops being accepted exactly when the verifier would stop accepting it: at its `exp`, or when
 * its issuer withdraws the key. @internal
 */
export function bindSocket(
  socket: object,
  outcome:
    | { claims: ServiceTokenClaims | Promise<ServiceTokenClaims> }
    | { refused: unknown },
  toleranceMs: number,
  keyOf?: (
    claims: ServiceTokenClaims,
  ) => { readonly active: boolean } | undefined,
): void {
  const binding: SocketBinding = { request: { headers: {} }, expiresAtMs: 0 };
  (socket as Carrier)[SOCKET] = binding;
  if ('refused' in outcome) {
    binding.refused = outcome.refused;
    return;
  }
  const settle = (claims: ServiceTokenClaims) => {
    binding.pending = undefined;
    binding.claims = claims;
    binding.expiresAtMs = claims.exp * 1000 + toleranceMs;
    binding.key = keyOf?.(claims);
    return claims;
  };
  if (!(outcome.claims instanceof Promise)) {
    settle(outcome.claims);
    return;
  }
  binding.pending = outcome.claims.then(settle, (e: unknown) => {
    binding.pending = undefined;
    binding.refused = e;
    throw e;
  });
  // The guard awaits `pending` when a message comes first; nobody else may, and a rejection is the guard's to report.
  binding.pending.catch(() => undefined);
}

/**
 * What the guard needs for a message on `socket`: its request object and the claims verified at its handshake
 * (a promise while that verification runs), checked against the token's expiry now.
 *
 * @throws {JwtIssuerError} `TOKEN_MISSING` when the handshake was not verified (the gateway did not call
 * `ServiceTokenHandshake.protect`), `TOKEN_EXPIRED` once the token's `exp` has passed, `TOKEN_KEY_UNKNOWN` once its
 * issuer has withdrawn the key that signed it; or the handshake's refusal.
 * @internal
 */
export function socketCallOf(
  socket: unknown,
  nowMs: number,
): {
  request: ServiceTokenRequest;
  claims: ServiceTokenClaims | Promise<ServiceTokenClaims>;
} {
  const binding =
    typeof socket === 'object' && socket !== null
      ? (socket as Carrier)[SOCKET]
      : undefined;
  if (binding === undefined) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.TOKEN_MISSING,
      "the socket's handshake was not verified: call ServiceTokenHandshake.protect(server) in the gateway's afterInit",
    );
  }
  if (binding.refused !== undefined) throw binding.refused;
  const { request } = binding;
  if (binding.pending !== undefined) {
    return {
      request,
      claims: binding.pending.then((claims) =>
        unexpired(binding, claims, Date.now()),
      ),
    };
  }
  return { request, claims: unexpired(binding, binding.claims!, nowMs) };
}

/** The request object of a socket's calls, once its handshake was verified or refused. @internal */
export function socketRequestOf(
  socket: unknown,
): ServiceTokenRequest | undefined {
  return typeof socket === 'object' && socket !== null
    ? (socket as Carrier)[SOCKET]?.request
    : undefined;
}

/** The claims a socket's handshake verified, while its token has not expired; else `undefined`. @internal */
export function socketClaimsOf(
  socket: object,
  nowMs: number,
): ServiceTokenClaims | undefined {
  const binding = (socket as Carrier)[SOCKET];
  return binding?.claims !== undefined &&
    nowMs < binding.expiresAtMs &&
    binding.key?.active !== false
    ? binding.claims
    : undefined;
}

function unexpired(
  binding: SocketBinding,
  claims: ServiceTokenClaims,
  nowMs: number,
): ServiceTokenClaims {
  if (nowMs >= binding.expiresAtMs) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.TOKEN_EXPIRED,
      `the token the socket connected with expired at ${new Date(claims.exp * 1000).toISOString()} (sub ${String(claims.sub)}): the client must connect again with a fresh token`,
    );
  }
  if (binding.key?.active === false) {
    throw new JwtIssuerError(
      JwtIssuerErrorCode.TOKEN_KEY_UNKNOWN,
      `the key that signed the token the socket connected with has been withdrawn by its issuer (sub ${String(claims.sub)}): the client must connect again with a token of a current key`,
    );
  }
  return claims;
}

// @nestjs/websockets is an optional peer: loaded only once a gateway message reaches the guard (the package is then
// necessarily installed, since it dispatched the message). Its WsException is the only error Nest's WebSocket
// exception filter sends to the client; any other error becomes "Internal server error".
type WsExceptionClass = new (error: object) => Error;

let wsException: WsExceptionClass | undefined;
let loading: Promise<void> | undefined;

/** `undefined` when WsException is ready, else a promise that settles once it is. @internal */
export function loadWsException(): Promise<void> | undefined {
  if (wsException !== undefined) return undefined;
  return (loading ??= import('@nestjs/websockets').then((m) => {
    wsException = exportOf<WsExceptionClass>(m, 'WsException');
  }));
}

/** Close code of a socket refused for its token: 4401, as graphql-ws uses (4000–4999 are the application's). */
export const WS_CLOSE_UNAUTHORIZED = 4401;

/**
 * The error a refused gateway message gets: a `WsException` whose object Nest's exception filter sends as the
 * `exception` event, `{ status: 'error', statusCode: 401, message: 'Unauthorized' }` (or 403 `Forbidden`, for an
 * issuer the handler does not allow). A 401 also ends the socket, once that event is on its way: its token can
 * never become valid again, so the client must connect again with a fresh one. Call {@link loadWsException}
 * first. @internal
 */
export function wsRefusal(refusal: TokenRefusal, socket: unknown): Error {
  if (wsException === undefined) throw new Error('WsException not loaded');
  const error = { status: 'error', ...refusal.body };
  // After the exception filter has sent its event (it runs in the promise jobs that follow the guard's refusal).
  if (refusal.status === 401) setImmediate(() => closeSocket(socket));
  return new wsException(error);
}

/**
 * Ends a refused socket the way its adapter's clients expect: a `ws` WebSocket is closed with code 4401 and reason
 * `Unauthorized`; a socket.io socket is disconnected by the server (the client sees `disconnect` with reason
 * `io server disconnect`, and does not reconnect by itself). @internal
 */
export function closeSocket(socket: unknown): void {
  const s = socket as {
    close?: (code: number, reason: string) => void;
    disconnect?: (close?: boolean) => void;
    readyState?: unknown;
  } | null;
  if (typeof s !== 'object' || s === null) return;
  if (typeof s.disconnect === 'function') s.disconnect();
  else if (typeof s.readyState === 'number' && typeof s.close === 'function') {
    // CONNECTING (0) or OPEN (1): a socket already closing keeps its first close code.
    if (s.readyState <= 1) s.close(WS_CLOSE_UNAUTHORIZED, 'Unauthorized');
  }
}
