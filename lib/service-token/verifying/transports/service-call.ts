import type { ExecutionContext } from '@nestjs/common';
import type { ServiceTokenClaims } from '../../interfaces/service-token-options.interface.js';
import { socketRequestOf } from './websocket.js';

/** Property of the request where {@link ServiceTokenGuard} puts the verified claims. */
export const SERVICE_CLAIMS_PROPERTY = 'serviceClaims';

/** Who called, from verified claims (the verifier knows each issuer's profile). @internal */
export interface ServiceCallerResolver {
  callerOf(claims: ServiceTokenClaims): {
    issuer: string;
    subject: string | undefined;
  };
}

/** Where the guard leaves the verifier that names the caller of the request's claims. @internal */
export const SERVICE_CALLER_RESOLVER = Symbol('nest-jwt-issuer.callerResolver');

/**
 * The kinds of call {@link ServiceTokenGuard} can check: HTTP routes, microservice handlers, GraphQL resolvers,
 * WebSocket gateway messages.
 */
export type ServiceTokenContextType = 'http' | 'rpc' | 'graphql' | 'ws';

/** Every {@link ServiceTokenContextType}, in the order docs/transports.md lists them. */
export const SERVICE_TOKEN_CONTEXT_TYPES: readonly ServiceTokenContextType[] = [
  'http',
  'rpc',
  'graphql',
  'ws',
];

const BEARER = /^Bearer +([^ ]+) *$/i;

/** The token of an `authorization: Bearer <token>` value, or `undefined` (not text, or another scheme). @internal */
export function bearerToken(header: unknown): string | undefined {
  return typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
}

/**
 * The parts of a call the guard reads. Over HTTP (Express or Fastify) and GraphQL it is the HTTP request itself;
 * for a microservice message it is built from the transport's headers (NATS headers, gRPC metadata, RabbitMQ,
 * Kafka and MQTT 5 properties), names in lower case, and `headers` is empty on transports without headers.
 */
export interface ServiceTokenRequest {
  headers: Record<string, string | string[] | undefined>;
  method?: string;
  url?: string;
  [SERVICE_CLAIMS_PROPERTY]?: ServiceTokenClaims;
  [SERVICE_CALLER_RESOLVER]?: ServiceCallerResolver;
}

// Microservice calls have no request object: the guard builds one per message and keeps it on the message's context
// object (NatsContext, gRPC Metadata, …) under a symbol, where the param decorator finds it again (the same object
// for both). A symbol property costs less per message than a WeakMap entry, and no serializer sees it.
const RPC_REQUEST = Symbol('nest-jwt-issuer.serviceTokenRequest');
type Carrier = { [RPC_REQUEST]?: ServiceTokenRequest };

/**
 * The request of a call for the guard, or `undefined` when the context is one the guard cannot read (a GraphQL
 * context without an HTTP request, an unknown transport context, a WebSocket whose handshake was not verified).
 * @internal
 */
export function serviceTokenRequestOf(
  context: ExecutionContext,
): ServiceTokenRequest | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest();
  if (type === 'graphql') return graphqlRequest(context.getArgByIndex(2));
  if (type === 'ws') return socketRequestOf(context.switchToWs().getClient());
  if (type !== 'rpc') return undefined;
  const carrier: unknown = context.switchToRpc().getContext();
  if (typeof carrier !== 'object' || carrier === null) return undefined;
  return ((carrier as Carrier)[RPC_REQUEST] ??= {
    headers: transportHeaders(carrier),
  });
}

/** The request the guard checked for this call (any context), or `undefined`. */
function checkedRequestOf(
  context: ExecutionContext,
): ServiceTokenRequest | undefined {
  if (context.getType<string>() === 'rpc') {
    const carrier: unknown = context.switchToRpc().getContext();
    if (typeof carrier !== 'object' || carrier === null) return undefined;
    return (carrier as Carrier)[RPC_REQUEST];
  }
  return serviceTokenRequestOf(context);
}

/** The claims the guard verified for this call (any context), or `undefined`. @internal */
export function serviceClaimsOf(
  context: ExecutionContext,
): ServiceTokenClaims | undefined {
  return checkedRequestOf(context)?.[SERVICE_CLAIMS_PROPERTY];
}

/** The caller (`iss`, subject) of this call's verified claims, or `undefined`. @internal */
export function serviceCallerOf(
  context: ExecutionContext,
): { issuer: string; subject: string | undefined } | undefined {
  const request = checkedRequestOf(context);
  const claims = request?.[SERVICE_CLAIMS_PROPERTY];
  if (claims === undefined) return undefined;
  return (
    request![SERVICE_CALLER_RESOLVER]?.callerOf(claims) ?? {
      issuer: claims.iss,
      subject: claims.sub,
    }
  );
}

/** True when the RPC context is gRPC metadata (errors then carry a gRPC status code). @internal */
export function isGrpcMetadata(carrier: unknown): boolean {
  const m = carrier as { getMap?: unknown; get?: unknown } | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.getMap === 'function' &&
    typeof m.get === 'function'
  );
}

function graphqlRequest(gqlContext: unknown): ServiceTokenRequest | undefined {
  if (typeof gqlContext !== 'object' || gqlContext === null) return undefined;
  const c = gqlContext as {
    req?: unknown;
    request?: unknown;
    reply?: { request?: unknown };
  };
  // Apollo (Express and Fastify) puts `req`; Mercurius gives `reply.request`.
  const req = c.req ?? c.request ?? c.reply?.request;
  if (typeof req !== 'object' || req === null) return undefined;
  const headers = (req as { headers?: unknown }).headers;
  return typeof headers === 'object' && headers !== null
    ? (req as ServiceTokenRequest)
    : undefined;
}

type Headers = ServiceTokenRequest['headers'];

/**
 * Reads the headers of a microservice message from its transport context, without importing any transport:
 * each context is recognised by its shape. Values that are not text (Kafka buffers are decoded) are skipped.
 */
function transportHeaders(carrier: object): Headers {
  const c = carrier as {
    getHeaders?: () => unknown;
    getMessage?: () => unknown;
    getPacket?: () => unknown;
  };
  // gRPC Metadata: keys are lower case, values are arrays.
  if (isGrpcMetadata(carrier)) {
    const out: Headers = {};
    const map = (carrier as { getMap(): Record<string, unknown> }).getMap();
    for (const key of Object.keys(map)) {
      const all = (carrier as { get(k: string): unknown[] }).get(key);
      const texts = all.filter((v): v is string => typeof v === 'string');
      if (texts.length > 0) out[key] = texts.length === 1 ? texts[0] : texts;
    }
    return out;
  }
  // NATS: NatsContext.getHeaders() is the message's MsgHdrs (or undefined); values(key) has every value.
  if (typeof c.getHeaders === 'function') {
    const h = c.getHeaders() as {
      keys?: () => string[];
      values?: (k: string) => string[];
    } | null;
    const out: Headers = {};
    if (
      typeof h !== 'object' ||
      h === null ||
      typeof h.keys !== 'function' ||
      typeof h.values !== 'function'
    ) {
      return out;
    }
    for (const key of h.keys()) addHeader(out, key, h.values(key));
    return out;
  }
  // RabbitMQ (RmqContext: message.properties.headers) and Kafka (KafkaContext: message.headers).
  if (typeof c.getMessage === 'function') {
    const message = c.getMessage() as {
      properties?: { headers?: Record<string, unknown> };
      headers?: Record<string, unknown>;
    } | null;
    return recordHeaders(message?.properties?.headers ?? message?.headers);
  }
  // MQTT 5: MqttContext.getPacket().properties.userProperties.
  if (typeof c.getPacket === 'function') {
    const packet = c.getPacket() as {
      properties?: { userProperties?: Record<string, unknown> };
    } | null;
    return recordHeaders(packet?.properties?.userProperties);
  }
  // TCP, Redis and unknown contexts carry no headers: the token is missing and the call is refused.
  return {};
}

function recordHeaders(record: Record<string, unknown> | undefined): Headers {
  const out: Headers = {};
  if (typeof record !== 'object' || record === null) return out;
  for (const [key, value] of Object.entries(record)) addHeader(out, key, value);
  return out;
}

function addHeader(out: Headers, key: string, value: unknown): void {
  const name = key.toLowerCase();
  const text = headerText(value);
  if (text === undefined) return;
  const previous = out[name];
  if (previous === undefined) out[name] = text;
  else
    out[name] = [
      ...(Array.isArray(previous) ? previous : [previous]),
      ...(Array.isArray(text) ? text : [text]),
    ];
}

function headerText(value: unknown): string | string[] | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (!Array.isArray(value)) return undefined;
  if (value.length === 1) return headerText(value[0]);
  const texts: string[] = [];
  for (const v of value) {
    const t = headerText(v);
    if (typeof t === 'string') texts.push(t);
    else if (t !== undefined) texts.push(...t);
  }
  return texts.length === 0 ? undefined : texts.length === 1 ? texts[0] : texts;
}
