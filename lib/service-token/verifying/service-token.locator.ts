import type { ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import {
  bearerToken,
  type ServiceTokenContextType,
  type ServiceTokenRequest,
} from './transports/service-call.js';

/** Where {@link ServiceTokenLocator} looks for a token: one call the guard checks, or a WebSocket handshake. */
export interface ServiceTokenCall {
  /**
   * The kind of call (`context.getType()`): `'http'`, `'rpc'`, `'graphql'`, or `'ws'` with {@link handshake} for a
   * WebSocket connecting; another kind for a context the guard cannot read.
   */
  readonly type: ServiceTokenContextType | (string & {});
  /**
   * The HTTP headers of the request (or of the WebSocket upgrade request), or the transport headers of a
   * microservice message (NATS headers, gRPC metadata, RabbitMQ, Kafka, MQTT 5), names in lower case.
   */
  readonly headers: ServiceTokenRequest['headers'];
  /**
   * The request as the guard reads it (over HTTP the Express or Fastify request itself, e.g. with `cookies` when a
   * cookie parser runs); `undefined` for a call the guard cannot read, and for a handshake.
   */
  readonly request?: ServiceTokenRequest;
  /** The guard's execution context; `undefined` for a handshake. */
  readonly context?: ExecutionContext;
  /** A WebSocket handshake: its adapter and, for socket.io, the client's `auth` payload. */
  readonly handshake?: {
    readonly adapter: 'ws' | 'socket.io';
    readonly auth: unknown;
  };
}

/**
 * Where a service token comes from, on every transport: used by {@link ServiceTokenGuard} (HTTP, microservice
 * messages, GraphQL) and by {@link ServiceTokenHandshake} (a WebSocket's token, read once at its handshake: the
 * guard then accepts the socket's messages until that token expires). By default:
 * - `authorization: Bearer …`: the HTTP header, or the header of a microservice message (gRPC metadata, NATS,
 *   RabbitMQ, Kafka, MQTT 5) or of a WebSocket upgrade request;
 * - socket.io: the client's `auth.token` (`io(url, { auth: { token } })`, the bare token or `Bearer …`), which wins
 *   over the header when the client sent one.
 *
 * A query parameter is never read (URLs end up in access logs). To read the token elsewhere (a cookie), extend this
 * class and provide it in place of the default in the module of the guarded controllers; for WebSocket gateways,
 * provide `ServiceTokenHandshake` in that module too, so that the handshake is built with your locator.
 * {@link missing} builds the one `TOKEN_MISSING` refusal of a call without a token.
 *
 * @example
 * @Injectable()
 * export class CookieTokenLocator extends ServiceTokenLocator {
 *   override locate(call: ServiceTokenCall): string | undefined {
 *     const cookies = (call.request as { cookies?: Record<string, string> } | undefined)?.cookies;
 *     return cookies?.service_token ?? super.locate(call);
 *   }
 * }
 * // app.module.ts
 * providers: [{ provide: ServiceTokenLocator, useClass: CookieTokenLocator }]
 */
@Injectable()
export class ServiceTokenLocator {
  /** The token of the call, or `undefined` when it has none (the call is then refused with {@link missing}). */
  locate(call: ServiceTokenCall): string | undefined {
    if (call.handshake?.adapter === 'socket.io') {
      const auth = call.handshake.auth as { token?: unknown } | null;
      if (typeof auth === 'object' && auth !== null && 'token' in auth) {
        const token = auth.token;
        if (typeof token !== 'string') return undefined;
        return (
          bearerToken(token) ?? (/^[^ ]+$/.test(token) ? token : undefined)
        );
      }
    }
    return bearerToken(call.headers.authorization);
  }

  /**
   * The refusal of a call without a token (`TOKEN_MISSING`, answered 401 with a bare `WWW-Authenticate: Bearer`),
   * its message saying where the token was looked for (for the log, never for the caller).
   */
  missing(call: ServiceTokenCall): JwtIssuerError {
    return new JwtIssuerError(
      JwtIssuerErrorCode.TOKEN_MISSING,
      call.handshake !== undefined
        ? call.handshake.adapter === 'ws'
          ? 'no authorization: Bearer header in the handshake'
          : 'no auth.token nor authorization: Bearer header in the handshake'
        : call.request === undefined
          ? `the guard cannot read a ${call.type} call`
          : 'no authorization: Bearer token',
    );
  }
}
