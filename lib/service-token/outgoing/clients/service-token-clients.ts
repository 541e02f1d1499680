import type { ServiceTokenService } from '../../issuing/service-token.service.js';
import { InternalDestinations } from './internal-destinations.js';

/**
 * What the client helpers need of a token source: the `Authorization` value of the current token. A
 * {@link ServiceTokenService}, or a test issuer's caller in `nest-jwt-issuer/testing`.
 */
export interface ServiceTokenSource {
  authorizationHeader(): Promise<string>;
}

/** Anything with `set(name, value)`: NATS `MsgHdrs`, gRPC `Metadata`, WHATWG `Headers`. */
export interface HeaderCarrier {
  set(name: string, value: string): unknown;
}

/**
 * Puts this service's current token (`authorization: Bearer …`, renewed tokens included) on the headers of an
 * outgoing microservice message and returns them. For a `ClientProxy` on the NATS transport (headers through
 * `NatsRecordBuilder`) and on gRPC (call `Metadata`). Use it only on connections to your own services: the token
 * goes wherever the message goes (on NATS, to every subscriber of the subject).
 *
 * @example
 * // NATS
 * const record = new NatsRecordBuilder(data).setHeaders(await withServiceToken(this.tokens, headers())).build();
 * await firstValueFrom(this.client.send('invoices.list', record));
 * // gRPC
 * await firstValueFrom(this.invoices.list(data, await withServiceToken(this.tokens, new Metadata())));
 * // With service.oauth2 destinations: the token of the destination named (any URL its entry matches)
 * await withServiceToken(this.tokens, new Metadata(), 'https://billing.internal');
 */
export async function withServiceToken<T extends HeaderCarrier>(
  tokens: ServiceTokenService | ServiceTokenSource,
  carrier: T,
  destination?: string | URL,
): Promise<T> {
  carrier.set('authorization', await tokens.authorizationHeader(destination));
  return carrier;
}

/** Options of {@link createServiceTokenFetch} and {@link useServiceTokenInterceptor}. */
export interface ServiceTokenClientOptions {
  /**
   * The internal services the token is sent to (see {@link InternalDestinations}); a request elsewhere goes out
   * unchanged, without the token. Required.
   */
  internal: readonly (string | URL)[] | InternalDestinations;
}

/**
 * A `fetch` that adds this service's current token to requests for the internal destinations, and only to those.
 * A request elsewhere is sent unchanged. With the token, redirects are not followed unless `init.redirect` says so
 * (`'manual'`: the 3xx comes back), so the token is never replayed to another host; an `authorization` header the
 * caller set is kept.
 *
 * @example
 * const internalFetch = createServiceTokenFetch(tokens, { internal: ['https://billing.internal'] });
 * const res = await internalFetch('https://billing.internal/internal/invoices');
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` (when created) for an invalid `internal` list.
 */
export function createServiceTokenFetch(
  tokens: ServiceTokenService | ServiceTokenSource,
  options: ServiceTokenClientOptions & { fetch?: typeof fetch },
): typeof fetch {
  const internal = destinations(options);
  const base = options.fetch ?? globalThis.fetch;
  return async (input, init) => {
    const url =
      input instanceof Request
        ? input.url
        : input instanceof URL
          ? input.href
          : String(input);
    if (!internal.includes(url)) return base(input, init);
    const headers = new Headers(
      init?.headers ?? (input instanceof Request ? input.headers : undefined),
    );
    if (!headers.has('authorization'))
      headers.set('authorization', await tokens.authorizationHeader(url));
    return base(input, {
      ...init,
      headers,
      redirect: init?.redirect ?? 'manual',
    });
  };
}

/**
 * The parts of an axios instance (or of `@nestjs/axios`' `HttpService.axiosRef`) the interceptor uses. The config
 * is typed loosely (axios' own interceptor types are overloaded): axios itself is never imported here.
 */
export interface AxiosLike {
  interceptors: {
    request: {
      // oxlint-disable-next-line typescript/no-explicit-any
      use(onFulfilled: (config: any) => any): number;
      eject(id: number): void;
    };
  };
  // oxlint-disable-next-line typescript/no-explicit-any
  getUri(config?: any): string;
}

/** The parts of an axios request config the interceptor reads and writes. */
export interface AxiosRequestConfigLike {
  maxRedirects?: number;
  headers?: {
    has?(name: string): boolean;
    set?(name: string, value: string): unknown;
  };
}

/**
 * Adds a request interceptor to an axios instance or `@nestjs/axios`' `HttpService` (its `axiosRef`): requests for
 * the internal destinations get this service's current token, others go out unchanged. With the token, redirects
 * are not followed (`maxRedirects: 0`) unless the request sets `maxRedirects`. Returns a function that removes the
 * interceptor. Neither axios nor `@nestjs/axios` is imported by this package.
 *
 * @example
 * @Injectable()
 * export class BillingClient implements OnModuleInit {
 *   constructor(private readonly http: HttpService, private readonly tokens: ServiceTokenService) {}
 *   onModuleInit() {
 *     useServiceTokenInterceptor(this.http, this.tokens, { internal: ['https://billing.internal'] });
 *   }
 * }
 * @throws {JwtIssuerError} `INVALID_ARGUMENT` for an invalid `internal` list.
 */
export function useServiceTokenInterceptor(
  http: AxiosLike | { axiosRef: AxiosLike },
  tokens: ServiceTokenService,
  options: ServiceTokenClientOptions,
): () => void {
  const internal = destinations(options);
  const axios = 'axiosRef' in http ? http.axiosRef : http;
  const id = axios.interceptors.request.use(
    async (config: AxiosRequestConfigLike) => {
      let url: string;
      try {
        url = axios.getUri(config);
      } catch {
        return config;
      }
      if (!internal.includes(url)) return config;
      const headers = config.headers;
      if (headers === undefined) return config;
      const present =
        typeof headers.has === 'function'
          ? headers.has('authorization')
          : Object.keys(headers).some(
              (k) => k.toLowerCase() === 'authorization',
            );
      if (!present) {
        const value = await tokens.authorizationHeader(url);
        if (typeof headers.set === 'function')
          headers.set('authorization', value);
        else (headers as Record<string, unknown>).authorization = value;
      }
      if (config.maxRedirects === undefined) config.maxRedirects = 0;
      return config;
    },
  );
  return () => axios.interceptors.request.eject(id);
}

function destinations(
  options: ServiceTokenClientOptions,
): InternalDestinations {
  const internal = options?.internal;
  return internal instanceof InternalDestinations
    ? internal
    : new InternalDestinations(internal);
}
