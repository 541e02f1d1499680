import { exportOf } from '../../../common/module-export.js';
import type { TokenRefusal } from '../../../common/token-refusal.js';
// @nestjs/microservices is an optional peer: loaded only once a microservice call reaches the guard (the package is
// then necessarily installed, since it dispatched the call). Its RpcException is the only error Nest's RPC
// exception filter forwards to the caller; any other error becomes "Internal server error".
type RpcExceptionClass = new (error: object) => Error;

let rpcException: RpcExceptionClass | undefined;
let loading: Promise<void> | undefined;

/** `undefined` when RpcException is ready, else a promise that settles once it is. @internal */
export function loadRpcException(): Promise<void> | undefined {
  if (rpcException !== undefined) return undefined;
  return (loading ??= import('@nestjs/microservices').then((m) => {
    rpcException = exportOf<RpcExceptionClass>(m, 'RpcException');
  }));
}

// gRPC status codes (grpc/status.proto).
const GRPC_UNAUTHENTICATED = 16;
const GRPC_PERMISSION_DENIED = 7;

/**
 * The error a refused microservice caller receives: `{ statusCode: 401, message: 'Unauthorized' }` (or 403
 * `Forbidden`), the same body as over HTTP; over gRPC `{ code: UNAUTHENTICATED (16) | PERMISSION_DENIED (7),
 * message }` so the client sees a gRPC status. Call {@link loadRpcException} first. @internal
 */
export function rpcRefusal(refusal: TokenRefusal, grpc: boolean): Error {
  const { statusCode, message } = refusal.body;
  const error = grpc
    ? {
        code:
          statusCode === 403 ? GRPC_PERMISSION_DENIED : GRPC_UNAUTHENTICATED,
        message,
      }
    : { statusCode, message };
  if (rpcException === undefined) throw new Error('RpcException not loaded');
  return new rpcException(error);
}
